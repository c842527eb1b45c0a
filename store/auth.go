package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Tokens, organisations and the audit log: who may call, and what they
// did. A token is stored by the SHA-256 of its secret, never the secret
// itself: the secret carries 256 random bits, so a fast hash is enough and
// a stolen file yields no usable token.

var (
	bTokens     = []byte("tokens")
	bByHash     = []byte("by_hash")
	bTokenNames = []byte("names") // see sealTokenName
	// bVolunteerTokens indexes volunteers' tokens by volunteer: volunteer
	// id(16) token id(16) -> "", so that a volunteer's deletion or erasure
	// revokes theirs without reading every token (schema 11).
	bVolunteerTokens = []byte("by_volunteer")
	bOrganisations   = []byte("organisations")
	bAudit           = []byte("audit")
	// bAuditByResource indexes the audit log by record: resource 0x00
	// id(16) -> "", so that a record's trail (a subject access export, or
	// "who read this request") is read from its own entries rather than
	// from every read of every record ever audited.
	bAuditByResource = []byte("audit_by_resource")
	// kAuditIndexFrom is set while audit_by_resource is being filled from
	// an audit log older than it: the id of the last record indexed (16
	// zero bytes before the first), so that a fill cut short goes on
	// where it stopped.
	kAuditIndexFrom = []byte("audit_index_from")
)

const tokenPrefix = "tokens/"

// ErrExists is returned when creating something whose name is taken.
var ErrExists = errors.New("already exists")

// createAuthLayout adds the buckets of this file. It runs at every Open:
// creating a bucket that exists is a no-op, so files from before it gain
// them without a schema step of their own.
func createAuthLayout(tx *bolt.Tx) error {
	tokens, err := tx.CreateBucketIfNotExists(bTokens)
	if err != nil {
		return err
	}
	for _, sub := range [][]byte{bRecords, bByHash, bTokenNames, bVolunteerTokens} {
		if _, err := tokens.CreateBucketIfNotExists(sub); err != nil {
			return err
		}
	}
	for _, top := range [][]byte{bOrganisations, bAudit} {
		if _, err := tx.CreateBucketIfNotExists(top); err != nil {
			return err
		}
	}
	return nil
}

// createAuditIndex (version 8) adds audit_by_resource. The records
// already logged are indexed by fillAuditIndex, in transactions of their
// own: a year's log holds millions. Run again over a file that has the
// bucket, it indexes the log again, which puts nothing new.
func createAuditIndex(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bAuditByResource); err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(kAuditIndexFrom, make([]byte, 16))
}

// auditIndexChunk bounds one transaction of fillAuditIndex.
var auditIndexChunk = 100_000 // a variable so that tests can lower it

// fillAuditIndex indexes the audit records logged before
// audit_by_resource existed, a chunk per transaction, each chunk's entries
// put in key order (putInOrder). It runs in Open before any other write.
func (s *BoltStore) fillAuditIndex() error {
	// Nearly every Open finds nothing to fill: it need not take (and
	// sync) a write transaction to learn so.
	var pending bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		pending = tx.Bucket(bMeta).Get(kAuditIndexFrom) != nil
		return nil
	}); err != nil || !pending {
		return err
	}
	start, indexed := time.Now(), 0
	var upTo []byte // the last record indexed
	for {
		done := false
		err := s.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bMeta)
			from := meta.Get(kAuditIndexFrom)
			if from == nil {
				done = true
				return nil
			}
			cur := tx.Bucket(bAudit).Cursor()
			k, v := cur.Seek(from)
			if bytes.Equal(k, from) {
				k, v = cur.Next()
			}
			if k != nil && indexed == 0 {
				// Open holds the file until the fill is done (a year's 3.2
				// million records: 33 s, and 67 s on a busy disk): the
				// server does not serve, nor can doorstepd
				// --new-admin-token open it, meanwhile. Say so before,
				// not once it is over.
				newest, _ := tx.Bucket(bAudit).Cursor().Last()
				s.logger.Info("store indexing audit log by record",
					zap.String("why", "once, for records logged before schema 8; the store opens when it is done"),
					zap.Time("from", idTime(k)), zap.Time("to", idTime(newest)))
			}
			var keys [][]byte
			var last []byte
			for ; k != nil && len(keys) < auditIndexChunk; k, v = cur.Next() {
				last = k
				r := &pb.AuditRecord{}
				if err := pb.UnmarshalTrusted(v, r); err != nil {
					// One damaged record must not keep the whole service
					// from starting: it stays in the log, unindexed, and
					// its trail misses it, as filtered listings did.
					s.logger.Warn("store audit record unreadable, not indexed", zap.String("record", idString(k)), zap.Error(err))
					continue
				}
				keys = append(keys, join([]byte(r.Resource), k))
			}
			indexed += len(keys)
			// In key order, as putInOrder explains: put in the log's order
			// they would land all over the new bucket's nodes.
			slices.SortFunc(keys, bytes.Compare)
			ix := tx.Bucket(bAuditByResource)
			ix.FillPercent = appendFillPercent // see packAppends
			for _, key := range keys {
				if err := ix.Put(key, nil); err != nil {
					return err
				}
			}
			if k == nil {
				done = true
				return meta.Delete(kAuditIndexFrom)
			}
			upTo = bytes.Clone(last)
			return meta.Put(kAuditIndexFrom, upTo)
		})
		if err != nil {
			return fmt.Errorf("index audit log by resource: %w", err)
		}
		if !done {
			s.logger.Info("store audit log indexing", zap.Int("records", indexed), zap.Time("up_to", idTime(upTo)))
			continue
		}
		if indexed > 0 {
			s.logger.Info("store audit log indexed by record", zap.Int("records", indexed), zap.Duration("took", time.Since(start)))
		}
		return nil
	}
}

// CreateToken stores t, whose secret hashes to hash, and returns it with
// its name and create time; a token for a volunteer with no stored record
// is ErrNotFound. With onlyIfNone it stores nothing and returns
// ErrExists when any token exists: the first admin token is made that way,
// so that two servers starting on an empty file cannot both make one.
func (s *BoltStore) CreateToken(ctx context.Context, t *pb.Token, hash [32]byte, onlyIfNone bool) (*pb.Token, error) {
	var out *pb.Token
	ctx, recs := tokenAudit(ctx)
	err := s.c.do(ctx, func(w *writeTx) error {
		out = nil
		top := w.tx.Bucket(bTokens)
		if onlyIfNone {
			if k, _ := top.Bucket(bRecords).Cursor().First(); k != nil {
				return ErrExists
			}
		}
		if top.Bucket(bByHash).Get(hash[:]) != nil {
			return ErrExists
		}
		// Judged here, not only by the caller before: a token written for
		// a volunteer deleted or erased meanwhile would outlive them,
		// working and bearing their name.
		var vol []byte // indexed under, as indexVolunteerTokens does
		if t.Volunteer != "" {
			key, err := ParseID(strings.TrimPrefix(t.Volunteer, volunteerPrefix))
			if err != nil || w.tx.Bucket(bVolunteers).Bucket(bRecords).Get(key) == nil {
				return fmt.Errorf("volunteer %s: %w", t.Volunteer, ErrNotFound)
			}
			vol, _ = idFromName(strings.ToLower(t.Volunteer), volunteerPrefix)
		}
		now := s.now()
		uid, err := s.ids.next(now)
		if err != nil {
			return err
		}
		id := uid[:]
		tok := proto.Clone(t).(*pb.Token)
		tok.Name, tok.CreateTime, tok.RevokeTime = tokenPrefix+idString(id), timestamp(now), nil
		stored, err := sealTokenName(w, s.sealer(w.tx), top.Bucket(bTokenNames), id, tok)
		if err != nil {
			return err
		}
		if err := putProto(w, top.Bucket(bRecords), id, stored); err != nil {
			return err
		}
		if err := w.put(top.Bucket(bByHash), hash[:], id); err != nil {
			return err
		}
		if vol != nil {
			if err := w.put(top.Bucket(bVolunteerTokens), append(bytes.Clone(vol), id...), nil); err != nil {
				return err
			}
		}
		if err := s.writeTokenAudit(w, recs, tok.Name); err != nil {
			return err
		}
		out = tok
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create token: %w", err)
	}
	return out, nil
}

// tokenCache holds tokens already read, by hash: every call presents one,
// and a read transaction per call cost about a tenth of a cheap call's
// time. Only tokens that exist are cached, so callers guessing secrets
// cannot grow it. A token's record changes only when it is revoked:
// RevokeToken moves gen on after its commit (invalidate), which makes
// every entry stale, so a revocation applies from the next call after it
// returns.
type tokenCache struct {
	gen    atomic.Uint64
	mu     sync.RWMutex
	byHash map[[32]byte]cachedToken
}

type cachedToken struct {
	tok *pb.Token
	gen uint64 // tokenCache.gen when tok was read, before the read began
}

func (c *tokenCache) get(hash [32]byte) (*pb.Token, uint64) {
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := c.byHash[hash]
	c.mu.RUnlock()
	if ok && e.gen == gen {
		return e.tok, gen
	}
	return nil, gen
}

// invalidate makes every entry stale, after a commit that revoked
// tokens, and drops them: a stale entry is never read again, and a server
// that runs for months would otherwise keep every token it ever read,
// revoked and expired ones too, with the volunteers' names they bore. A
// read that began before puts nothing back (put).
func (c *tokenCache) invalidate() {
	c.gen.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byHash)
}

// put caches tok, read from gen on, unless gen is past: a token read
// before a revocation would never be used, and left in the cache after
// invalidate, an erased volunteer's name with it, it stayed until the next
// revocation. gen is read under the lock: invalidate moves it on before
// it clears, so an entry put before it clears goes, and one after is
// refused.
func (c *tokenCache) put(hash [32]byte, tok *pb.Token, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if c.byHash == nil {
		c.byHash = map[[32]byte]cachedToken{}
	}
	c.byHash[hash] = cachedToken{tok: tok, gen: gen}
}

// TokenByHash returns the token whose secret hashes to hash, revoked or
// expired ones included: the caller decides, so that it can say why. The
// token may be shared with other callers and must not be modified.
func (s *BoltStore) TokenByHash(_ context.Context, hash [32]byte) (*pb.Token, error) {
	out, gen := s.tokens.get(hash)
	if out != nil {
		return out, nil
	}
	err := s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bTokens)
		id := top.Bucket(bByHash).Get(hash[:])
		if id == nil {
			return ErrNotFound
		}
		t := &pb.Token{}
		ok, err := getProto(top.Bucket(bRecords), id, t)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("token hash names a missing token: %w", errInconsistent)
		}
		if err := openTokenName(s.sealer(tx), top.Bucket(bTokenNames), id, t); err != nil {
			return err
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: token by hash: %w", err)
	}
	s.tokens.put(hash, out, gen)
	return out, nil
}

// ListTokens lists tokens, oldest first.
func (s *BoltStore) ListTokens(_ context.Context, p Page) ([]*pb.Token, string, error) {
	var out []*pb.Token
	var sl *sealer
	var names *bolt.Bucket
	records := func(tx *bolt.Tx) *bolt.Bucket {
		sl, names = s.sealer(tx), tx.Bucket(bTokens).Bucket(bTokenNames)
		return tx.Bucket(bTokens).Bucket(bRecords)
	}
	next, err := s.listKeyed(p, "tokens", records, false,
		func(k, v []byte) (bool, error) {
			t := &pb.Token{}
			if err := pb.UnmarshalTrusted(v, t); err != nil {
				return false, err
			}
			if err := openTokenName(sl, names, k, t); err != nil {
				return false, err
			}
			out = append(out, t)
			return true, nil
		})
	if err != nil {
		return nil, "", fmt.Errorf("store: list tokens: %w", err)
	}
	return out, next, nil
}

// tokenAudit takes the audit records from ctx (WithAudit) for a token's
// write to append itself: tokens take no revision, which is what the
// committer audits by, yet who made or revoked a credential is the
// first thing asked after a breach. A record with no resource names the
// token.
func tokenAudit(ctx context.Context) (context.Context, []*pb.AuditRecord) {
	recs := auditFrom(ctx)
	if len(recs) == 0 {
		return ctx, nil
	}
	return WithAudit(ctx), recs
}

// writeTokenAudit appends recs, about the token named, within w.
func (s *BoltStore) writeTokenAudit(w *writeTx, recs []*pb.AuditRecord, name string) error {
	if len(recs) == 0 {
		return nil
	}
	out := make([]*pb.AuditRecord, len(recs))
	for i, r := range recs {
		out[i] = proto.Clone(r).(*pb.AuditRecord)
		if out[i].Resource == "" {
			out[i].Resource = name
		}
	}
	return s.writeAudit(w, out)
}

// RevokeToken revokes a token; a revoked one is ErrWrongState. Audit
// records in ctx (WithAudit) are written with the revocation.
func (s *BoltStore) RevokeToken(ctx context.Context, id string) (*pb.Token, error) {
	key, err := ParseID(id)
	if err != nil {
		return nil, fmt.Errorf("store: revoke token: %w", ErrNotFound)
	}
	var out *pb.Token
	ctx, recs := tokenAudit(ctx)
	err = s.c.do(ctx, func(w *writeTx) error {
		out = nil
		b := w.tx.Bucket(bTokens).Bucket(bRecords)
		t := &pb.Token{}
		ok, err := getProto(b, key, t)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if t.RevokeTime != nil {
			return fmt.Errorf("token is revoked: %w", ErrWrongState)
		}
		now := s.now()
		if t.Role == pb.Role_ROLE_ADMIN && TokenUsable(t, now) == nil {
			other, err := otherAdminToken(b, key, now)
			if err != nil {
				return err
			}
			if !other {
				return ErrLastAdminToken
			}
		}
		t.RevokeTime = timestamp(now)
		if err := putProto(w, b, key, t); err != nil {
			return err
		}
		if err := s.writeTokenAudit(w, recs, t.Name); err != nil {
			return err
		}
		out = proto.Clone(t).(*pb.Token)
		return openTokenName(s.sealer(w.tx), w.tx.Bucket(bTokens).Bucket(bTokenNames), key, out)
	})
	s.tokens.invalidate() // after the commit: see tokenCache
	if err != nil {
		return nil, fmt.Errorf("store: revoke token: %w", err)
	}
	return out, nil
}

// otherAdminToken says whether an admin token other than the one keyed
// skip works at now. It is judged in the revocation's own transaction, so
// that two admins revoking each other at once cannot both succeed.
func otherAdminToken(b *bolt.Bucket, skip []byte, now time.Time) (bool, error) {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if bytes.Equal(k, skip) {
			continue
		}
		t := &pb.Token{}
		if err := pb.UnmarshalTrusted(v, t); err != nil {
			return false, fmt.Errorf("decode token: %w", err)
		}
		if t.Role == pb.Role_ROLE_ADMIN && TokenUsable(t, now) == nil {
			return true, nil // one is enough: the rest are volunteers' phones
		}
	}
	return false, nil
}

// erasedTokenName and deletedTokenName replace the display name of an
// erased or deleted volunteer's tokens, which admins set to the
// volunteer's own name: with the record gone, an erasure by their phone
// could no longer find the tokens to remove it.
const (
	erasedTokenName  = "erased volunteer"
	deletedTokenName = "deleted volunteer"
)

// IsEndedTokenName says whether name is one an ended volunteer's tokens
// bear: the store takes a volunteer's token so named as ended already
// (neither sealing its name nor renaming it), so no live token may take it.
func IsEndedTokenName(name string) bool {
	return strings.EqualFold(name, erasedTokenName) || strings.EqualFold(name, deletedTokenName)
}

// endVolunteerTokens revokes, within w, every token that acts as the
// volunteer vol, and replaces its display name with displayName: a
// deleted or erased volunteer's signed-in phone must stop working at
// once. The caller invalidates the token cache after the commit. Those it
// revokes are noted in w.revoked, for their trails (writeRevokedAudit).
func endVolunteerTokens(w *writeTx, vol string, now time.Time, displayName string) error {
	id, err := idFromName(strings.ToLower(vol), volunteerPrefix)
	if err != nil {
		return fmt.Errorf("volunteer %s: %w", vol, err)
	}
	top := w.tx.Bucket(bTokens)
	b, names := top.Bucket(bRecords), top.Bucket(bTokenNames)
	for _, key := range idsUnder(top.Bucket(bVolunteerTokens), id) {
		t := &pb.Token{}
		ok, err := getProto(b, key, t)
		if err != nil {
			return fmt.Errorf("token %s: %w", idString(key), err)
		}
		// Either case: tokens made before CreateToken wrote ids in lower
		// case may name the volunteer in capitals.
		if !ok || !strings.EqualFold(t.Volunteer, vol) {
			return fmt.Errorf("token %s indexed under %s: %w", idString(key), vol, errInconsistent)
		}
		if t.RevokeTime == nil {
			t.RevokeTime = timestamp(now)
			w.revoked = append(w.revoked, tokenPrefix+idString(key))
		}
		// A stand-in for the volunteer's name, in the clear, so the
		// sealed name goes.
		t.DisplayName = displayName
		if err := putProto(w, b, key, t); err != nil {
			return err
		}
		if err := w.delete(names, key); err != nil {
			return err
		}
	}
	return nil
}

// indexVolunteerTokens (schema 11) indexes by volunteer the tokens older
// versions made (bVolunteerTokens). A token naming no volunteer that
// could exist is left out: no deletion or erasure could name it.
func indexVolunteerTokens(w *writeTx) (int, error) {
	top := w.tx.Bucket(bTokens)
	var entries []index
	err := top.Bucket(bRecords).ForEach(func(k, v []byte) error {
		t := &pb.Token{}
		if err := pb.UnmarshalTrusted(v, t); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		if t.Volunteer == "" {
			return nil
		}
		// Older versions kept ids in capitals as given (see endVolunteerTokens).
		if id, err := idFromName(strings.ToLower(t.Volunteer), volunteerPrefix); err == nil {
			entries = append(entries, index{bucket: bVolunteerTokens, key: append(id, k...)})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	w.dirty = true
	return len(entries), putInOrder(top, entries)
}

// endGoneVolunteerTokens (schema 9) ends, within w, the tokens of
// volunteers whose record is gone: versions before a volunteer's end
// revoked their tokens deleted or erased the record and left them
// working, bearing the volunteer's name, which no erasure could find
// again. Whether the record was deleted or erased is no longer known;
// either way the name goes. It returns how many names it took off.
func endGoneVolunteerTokens(w *writeTx, now time.Time) (int, error) {
	vols := w.tx.Bucket(bVolunteers).Bucket(bRecords)
	renamed := 0
	err := rewriteTokens(w, func(t *pb.Token) bool {
		if t.Volunteer == "" {
			return false
		}
		// Older versions kept ids in capitals as given (see endVolunteerTokens).
		id, err := idFromName(strings.ToLower(t.Volunteer), volunteerPrefix)
		if err == nil && vols.Get(id) != nil {
			return false
		}
		ended := t.DisplayName == erasedTokenName || t.DisplayName == deletedTokenName
		if t.RevokeTime != nil && ended {
			return false
		}
		if t.RevokeTime == nil {
			t.RevokeTime = timestamp(now)
		}
		if !ended {
			t.DisplayName = deletedTokenName
			renamed++
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return renamed, nil
}

// rewriteTokens walks every stored token within w, and writes back those
// edit changed (it reports whether it did).
func rewriteTokens(w *writeTx, edit func(*pb.Token) bool) error {
	b := w.tx.Bucket(bTokens).Bucket(bRecords)
	type change struct {
		key []byte
		tok *pb.Token
	}
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		t := &pb.Token{}
		if err := pb.UnmarshalTrusted(v, t); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		if edit(t) {
			changes = append(changes, change{bytes.Clone(k), t})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: a bucket must not change under ForEach.
	// The edits put a stand-in for the volunteer's name, in the clear,
	// so the sealed name goes.
	names := w.tx.Bucket(bTokens).Bucket(bTokenNames)
	for _, c := range changes {
		if err := putProto(w, b, c.key, c.tok); err != nil {
			return err
		}
		if err := w.delete(names, c.key); err != nil {
			return err
		}
	}
	return nil
}

// sealTokenName seals the display name of a volunteer's token, keyed id,
// under the volunteer's data key in names, and returns the token to
// store: without it. The name goes when the volunteer's key does (an
// erasure or a deletion), and no key file opens a copy of it left in a
// free page once an erasure has rotated the epoch. Other tokens, and the
// stand-ins an ended volunteer's tokens bear, stay as they are.
func sealTokenName(w *writeTx, sl *sealer, names *bolt.Bucket, id []byte, t *pb.Token) (*pb.Token, error) {
	if t.Volunteer == "" || t.DisplayName == "" || t.DisplayName == erasedTokenName || t.DisplayName == deletedTokenName {
		return t, nil
	}
	// Older versions kept ids in capitals as given (see endVolunteerTokens).
	vol, err := idFromName(strings.ToLower(t.Volunteer), volunteerPrefix)
	if err != nil {
		return nil, fmt.Errorf("token %s names volunteer %q: %w", idString(id), t.Volunteer, errInconsistent)
	}
	dk, err := sl.ensureDataKey(w, vol)
	if err != nil {
		return nil, err
	}
	sealed, err := seal(dk, id, []byte(t.DisplayName))
	if err != nil {
		return nil, err
	}
	if err := w.put(names, id, sealed); err != nil {
		return nil, err
	}
	stored := proto.Clone(t).(*pb.Token)
	stored.DisplayName = ""
	return stored, nil
}

// openTokenName puts back the display name sealTokenName sealed, if any.
func openTokenName(sl *sealer, names *bolt.Bucket, id []byte, t *pb.Token) error {
	sealed := names.Get(id)
	if sealed == nil {
		return nil
	}
	vol, err := idFromName(strings.ToLower(t.Volunteer), volunteerPrefix)
	if err != nil {
		return fmt.Errorf("token %s has a sealed name but no volunteer: %w", idString(id), errInconsistent)
	}
	dk, err := sl.dataKey(vol)
	if err != nil {
		return err
	}
	if dk == nil {
		return fmt.Errorf("token %s: name sealed under a key that is gone: %w", idString(id), errInconsistent)
	}
	plain, err := unseal(dk, id, sealed)
	if err != nil {
		return fmt.Errorf("token %s: %w", idString(id), err)
	}
	t.DisplayName = string(plain)
	return nil
}

// sealTokenNames (schema 10) seals the names of volunteers' tokens that
// older versions kept in the clear. It returns how many tokens name a
// volunteer, sealed now or ended: an older version took an ended
// volunteer's name off by writing the token anew, which left the old
// copy, name in the clear, in a freed page.
func sealTokenNames(w *writeTx, sl *sealer) (int, error) {
	top := w.tx.Bucket(bTokens)
	b, names := top.Bucket(bRecords), top.Bucket(bTokenNames)
	type plain struct {
		key []byte
		tok *pb.Token
	}
	var todo []plain
	named := 0
	err := b.ForEach(func(k, v []byte) error {
		t := &pb.Token{}
		if err := pb.UnmarshalTrusted(v, t); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		if t.Volunteer == "" || t.DisplayName == "" {
			return nil
		}
		named++
		if names.Get(k) == nil && t.DisplayName != erasedTokenName && t.DisplayName != deletedTokenName {
			todo = append(todo, plain{bytes.Clone(k), t})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, p := range todo {
		stored, err := sealTokenName(w, sl, names, p.key, p.tok)
		if err != nil {
			return 0, err
		}
		if err := putProto(w, b, p.key, stored); err != nil {
			return 0, err
		}
	}
	return named, nil
}

// CreateOrganisation registers an organisation under its slug.
func (s *BoltStore) CreateOrganisation(ctx context.Context, o *pb.Organisation, slug string) (*pb.Organisation, error) {
	var out *pb.Organisation
	err := s.c.do(ctx, func(w *writeTx) error {
		out = nil
		b := w.tx.Bucket(bOrganisations)
		if b.Get([]byte(slug)) != nil {
			return ErrExists
		}
		org := proto.Clone(o).(*pb.Organisation)
		org.CreateTime = timestamp(s.now())
		out = org
		return putProto(w, b, []byte(slug), org)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create organisation: %w", err)
	}
	return out, nil
}

// GetOrganisation returns a registered organisation.
func (s *BoltStore) GetOrganisation(_ context.Context, slug string) (*pb.Organisation, error) {
	o := &pb.Organisation{}
	err := s.view(func(tx *bolt.Tx) error {
		ok, err := getProto(tx.Bucket(bOrganisations), []byte(slug), o)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: get organisation: %w", err)
	}
	return o, nil
}

// ListOrganisations lists organisations in slug order.
func (s *BoltStore) ListOrganisations(_ context.Context, p Page) ([]*pb.Organisation, string, error) {
	var out []*pb.Organisation
	next, err := s.listKeyed(p, "organisations", func(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bOrganisations) }, false,
		func(_, v []byte) (bool, error) {
			o := &pb.Organisation{}
			if err := pb.UnmarshalTrusted(v, o); err != nil {
				return false, err
			}
			out = append(out, o)
			return true, nil
		})
	if err != nil {
		return nil, "", fmt.Errorf("store: list organisations: %w", err)
	}
	return out, next, nil
}

// listKeyed pages through one bucket in key order (or reverse), calling
// each with every key and value until it has taken p.Size; each says
// whether it took the record. At most maxScanned keys are read per page.
func (s *BoltStore) listKeyed(p Page, filterKey string, bucket func(*bolt.Tx) *bolt.Bucket, reverse bool, each func(k, v []byte) (bool, error)) (string, error) {
	return s.listKeyedIn(p, filterKey, bucket, reverse, nil, nil, each)
}

// listKeyedIn is listKeyed over the keys k with lo <= k < hi only (nil
// for no bound): it starts at the bound it walks from and stops at the
// other, rather than reading every key outside them to pass them over.
func (s *BoltStore) listKeyedIn(p Page, filterKey string, bucket func(*bolt.Tx) *bolt.Bucket, reverse bool, lo, hi []byte, each func(k, v []byte) (bool, error)) (string, error) {
	if p.Size < 1 {
		return "", fmt.Errorf("page size %d", p.Size)
	}
	resume, err := s.decodeToken(p.Token, filterKey)
	if err != nil {
		return "", err
	}
	var next string
	err = s.view(func(tx *bolt.Tx) error {
		cur := bucket(tx).Cursor()
		var k, v []byte
		switch {
		case resume == nil && !reverse && lo != nil:
			k, v = cur.Seek(lo)
		case resume == nil && !reverse:
			k, v = cur.First()
		case resume == nil && hi != nil:
			if k, _ = cur.Seek(hi); k == nil {
				k, v = cur.Last()
			} else {
				k, v = cur.Prev() // the key before hi
			}
		case resume == nil:
			k, v = cur.Last()
		case !reverse:
			k, v = cur.Seek(resume)
			if bytes.Equal(k, resume) {
				k, v = cur.Next()
			}
		default:
			cur.Seek(resume)
			k, v = cur.Prev() // the key before resume, whether or not resume is still there
		}
		step := cur.Next
		if reverse {
			step = cur.Prev
		}
		taken, scanned := 0, 0
		var last []byte
		for ; k != nil && (lo == nil || bytes.Compare(k, lo) >= 0) && (hi == nil || bytes.Compare(k, hi) < 0); k, v = step() {
			if taken == p.Size || scanned == maxScanned {
				next = s.encodeToken(filterKey, last)
				return nil
			}
			scanned++
			last = bytes.Clone(k)
			ok, err := each(k, v)
			if err != nil {
				return err
			}
			if ok {
				taken++
			}
		}
		return nil
	})
	return next, err
}

// The audit log. A write made with a context from WithAudit appends its
// records in the same transaction, and only if the write changed
// something; reads of personal data are recorded with RecordAudit before
// the data is handed out.

type auditKey struct{}

// WithAudit returns a context whose writes append recs to the audit log in
// their own transaction. A record with no resource is written once for
// each record the write created or changed (a purge changes many).
func WithAudit(ctx context.Context, recs ...*pb.AuditRecord) context.Context {
	return context.WithValue(ctx, auditKey{}, recs)
}

func auditFrom(ctx context.Context) []*pb.AuditRecord {
	recs, _ := ctx.Value(auditKey{}).([]*pb.AuditRecord)
	return recs
}

// writeAudit appends recs to the log within w.
func (s *BoltStore) writeAudit(w *writeTx, recs []*pb.AuditRecord) error {
	b, ix := w.tx.Bucket(bAudit), w.tx.Bucket(bAuditByResource)
	now := s.now()
	// A set, not a search of the list: a write touches thousands of
	// records at once (a purge batch, an erasure of a number on many),
	// and each name looked up in the list so far made it quadratic.
	var touched []string
	seen := make(map[string]bool, len(w.touched))
	for _, name := range w.touched {
		if !seen[name] {
			seen[name] = true
			touched = append(touched, name)
		}
	}
	for _, r := range recs {
		resources := []string{r.Resource}
		if r.Resource == "" && len(touched) > 0 {
			resources = touched
		}
		for _, res := range resources {
			uid, err := s.ids.next(now)
			if err != nil {
				return err
			}
			rec := proto.Clone(r).(*pb.AuditRecord)
			rec.Name, rec.Time, rec.Resource = "auditRecords/"+idString(uid[:]), timestamp(now), res
			if err := putProto(w, b, uid[:], rec); err != nil {
				return err
			}
			if err := w.put(ix, join([]byte(res), uid[:]), nil); err != nil {
				return err
			}
		}
	}
	return s.writeRevokedAudit(w, recs)
}

// writeRevokedAudit puts each token w revoked in passing (a volunteer's
// deletion or erasure ends theirs) on its own trail, as a revocation by
// whoever made the write recs record: after a breach, a token made and
// never withdrawn on its trail, yet revoked in the token list, has lost
// who withdrew it. The record names the token only, not its name.
func (s *BoltStore) writeRevokedAudit(w *writeTx, recs []*pb.AuditRecord) error {
	if len(w.revoked) == 0 || len(recs) == 0 {
		return nil
	}
	by := recs[0]
	out := make([]*pb.AuditRecord, len(w.revoked))
	for i, name := range w.revoked {
		out[i] = &pb.AuditRecord{Action: "revoke", Resource: name, Actor: by.Actor, Role: by.Role, Organisation: by.Organisation, Method: by.Method}
	}
	w.revoked = nil // written once, however many records recs holds
	return s.writeAudit(w, out)
}

// RecordAudit appends recs to the audit log and returns once they are
// durable, so that personal data is handed out only after its reading is
// on record.
func (s *BoltStore) RecordAudit(ctx context.Context, recs []*pb.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := s.c.do(ctx, func(w *writeTx) error { return s.writeAudit(w, recs) }); err != nil {
		return fmt.Errorf("store: record audit: %w", err)
	}
	return nil
}

// AuditFilter selects audit records; empty fields select everything.
type AuditFilter struct {
	Actor, Resource, Action string
	// AnyResource, when not empty, keeps the records of any of these
	// resources: a person's whole trail in one pass of the log.
	AnyResource []string
	// Start and End, when not zero, keep the records at or after Start
	// and before End. A record is at its own time, or, when that is behind
	// its id's millisecond, at that millisecond's end: one logged while
	// the clock stood behind the log's newest (stepped back) bears its own
	// time but is filed, its id made no earlier than the last
	// (idGen.next), among the records after it, and is selected where it
	// is filed, after each record filed before it in that millisecond
	// (at its start, a range from such a record's own time, 10:00:00.0007,
	// left out the hour logged after it), so that a range is one run of
	// the log and is read from its end to its start alone.
	Start, End time.Time
}

// in says whether the record r, logged under id, falls in f's range.
func (f AuditFilter) in(id []byte, r *pb.AuditRecord) bool {
	at := r.GetTime().AsTime()
	if t := idTime(id); t.After(at) {
		at = t.Add(time.Millisecond - time.Nanosecond)
	}
	return (f.Start.IsZero() || !at.Before(f.Start)) && (f.End.IsZero() || at.Before(f.End))
}

// keyRange is the audit ids that can fall in f's range: an id bears its
// time to the millisecond, and a record's own time is never a whole
// millisecond past its id's, so ids from Start's millisecond on and
// before End's (rounded up). Nil for no bound.
func (f AuditFilter) keyRange() (lo, hi []byte) {
	key := func(ms uint64) []byte {
		var u ulid.ULID
		_ = u.SetTime(ms) // ms is within ulid.MaxTime: timestamps end in 9999
		return u[:]
	}
	epoch := time.UnixMilli(0)
	if !f.Start.IsZero() && f.Start.After(epoch) {
		lo = key(ulid.Timestamp(f.Start))
	}
	if !f.End.IsZero() {
		hi = make([]byte, 16) // before 1970: no id
		if f.End.After(epoch) {
			ms := ulid.Timestamp(f.End)
			if ulid.Time(ms).Before(f.End) {
				ms++
			}
			hi = key(ms)
		}
	}
	return lo, hi
}

// ListAuditRecords lists audit records, newest first.
func (s *BoltStore) ListAuditRecords(_ context.Context, f AuditFilter, p Page) ([]*pb.AuditRecord, string, error) {
	var out []*pb.AuditRecord
	filterKey := "audit\x00" + f.Actor + "\x00" + f.Resource + "\x00" + f.Action + "\x00" + strings.Join(f.AnyResource, "\x01")
	if !f.Start.IsZero() || !f.End.IsZero() {
		// Only with a range, so that a page token from before ranges still
		// reads on.
		filterKey += "\x00" + f.Start.UTC().Format(time.RFC3339Nano) + "\x00" + f.End.UTC().Format(time.RFC3339Nano)
	}
	lo, hi := f.keyRange()
	each := func(k, v []byte) (bool, error) {
		r := &pb.AuditRecord{}
		if err := pb.UnmarshalTrusted(v, r); err != nil {
			return false, err
		}
		if (f.Actor != "" && r.Actor != f.Actor) || (f.Resource != "" && r.Resource != f.Resource) || (f.Action != "" && r.Action != f.Action) ||
			(len(f.AnyResource) > 0 && !slices.Contains(f.AnyResource, r.Resource)) || !f.in(k, r) {
			return false, nil
		}
		out = append(out, r)
		return true, nil
	}
	var next string
	var err error
	resources := f.AnyResource
	if len(resources) == 0 && f.Resource != "" {
		resources = []string{f.Resource}
	}
	if len(resources) > 0 {
		next, err = s.listAuditOf(p, filterKey, resources, lo, hi, each)
	} else {
		next, err = s.listKeyedIn(p, filterKey, func(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bAudit) }, true, lo, hi, each)
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit records: %w", err)
	}
	return out, next, nil
}

// listAuditOf is listKeyed over the audit records of some resources only,
// newest first: it walks each resource's entries in audit_by_resource
// back from the page token, taking the newest of them at each step, so a
// trail costs its own length, not the log's. Its tokens are listKeyed's
// (the last audit id read). Only ids with lo <= id < hi are read (nil
// for no bound).
func (s *BoltStore) listAuditOf(p Page, filterKey string, resources []string, lo, hi []byte, each func(k, v []byte) (bool, error)) (string, error) {
	if p.Size < 1 {
		return "", fmt.Errorf("page size %d", p.Size)
	}
	resume, err := s.decodeToken(p.Token, filterKey)
	if err != nil {
		return "", err
	}
	var next string
	err = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bMeta).Get(kAuditIndexFrom) != nil {
			return fmt.Errorf("audit index incomplete: %w", errInconsistent)
		}
		log := tx.Bucket(bAudit)
		type walk struct {
			cur    *bolt.Cursor
			prefix []byte
			id     []byte // the next id to take, or nil when done
		}
		step := func(w *walk, k []byte) {
			w.id = nil
			if k != nil && bytes.HasPrefix(k, w.prefix) && len(k) == len(w.prefix)+16 {
				w.id = k[len(w.prefix):]
			}
		}
		var walks []*walk
		for _, res := range slices.Compact(slices.Sorted(slices.Values(resources))) {
			w := &walk{cur: tx.Bucket(bAuditByResource).Cursor(), prefix: join([]byte(res), nil)}
			// The first entry after this resource's last before resume (or
			// after all of them), then one back.
			from := resume
			if from == nil || hi != nil && bytes.Compare(hi, from) < 0 {
				from = hi
			}
			upper := append(bytes.Clone(w.prefix), from...)
			if from == nil {
				upper = append([]byte(res), 1) // names hold no control bytes
			}
			k, _ := w.cur.Seek(upper)
			if k == nil {
				k, _ = w.cur.Last()
			} else {
				k, _ = w.cur.Prev()
			}
			step(w, k)
			walks = append(walks, w)
		}
		taken, scanned := 0, 0
		var last []byte
		for {
			var newest *walk
			for _, w := range walks {
				if w.id != nil && (newest == nil || bytes.Compare(w.id, newest.id) > 0) {
					newest = w
				}
			}
			if newest == nil || lo != nil && bytes.Compare(newest.id, lo) < 0 {
				return nil // the newest left is before the range: all are
			}
			if taken == p.Size || scanned == maxScanned {
				next = s.encodeToken(filterKey, last)
				return nil
			}
			scanned++
			last = bytes.Clone(newest.id)
			v := log.Get(newest.id)
			if v == nil {
				return fmt.Errorf("audit index names missing record %s: %w", idString(newest.id), errInconsistent)
			}
			ok, err := each(newest.id, v)
			if err != nil {
				return err
			}
			if ok {
				taken++
			}
			k, _ := newest.cur.Prev()
			step(newest, k)
		}
	})
	return next, err
}

// TokenUsable says whether a token may be used at now, and if not why.
func TokenUsable(t *pb.Token, now time.Time) error {
	switch {
	case t.RevokeTime != nil:
		return errors.New("the token has been revoked")
	case t.ExpireTime != nil && !now.Before(t.ExpireTime.AsTime()):
		return errors.New("the token has expired")
	}
	return nil
}
