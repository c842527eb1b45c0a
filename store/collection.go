package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// collection is what differs between help requests and volunteers; the
// create, read, update, delete and list logic over it is shared.
type collection[T proto.Message] struct {
	bucket   []byte
	prefix   string // resource name prefix
	idemKind string
	noun     string // for error context
	newRec   func() T
	// takeContact removes the contact from r and returns it.
	takeContact func(r T) *pb.Contact
	setContact  func(r T, c *pb.Contact)
	// meta reads and stamps the fields the store owns.
	name  func(r T) string
	etag  func(r T) string
	stamp func(r T, name, etag string, created, updated *timestamppb.Timestamp)
	// keep copies from the stored record what an update may not change.
	keep func(dst, stored T)
	// onCreate sets initial state.
	onCreate func(r T)
	// splitPersonal removes from r its personal fields other than the
	// contact and returns a record of the same type holding just them: with
	// the contact, what is sealed under the record's data key.
	splitPersonal func(r T) T
	// mergePersonal puts back into r the fields splitPersonal took out,
	// by assignment: proto.Merge would cost a reflective walk per read.
	mergePersonal func(r, p T)
	// removed says whether r's personal data has been erased or purged.
	removed func(r T) bool
	// indexes are the secondary index entries of a record; sl hashes its
	// phone number.
	indexes func(sl *sealer, id []byte, r T, c *pb.Contact) []index
	// phoneIndex is the part of indexes a phone number makes, in the
	// buckets phoneBuckets, which a key rotation rebuilds
	// (rebuildPhoneIndex).
	phoneIndex   func(sl *sealer, phone string, id []byte) []index
	phoneBuckets [][]byte
	// unique is an index entry that must not exist yet, or nil.
	unique func(r T) *index
	// deletable, when set, refuses to delete a record still in use.
	deletable func(r T) error
	// onRemove, when set, deletes or ends what belongs to a record being
	// deleted, in the same transaction; now is the write's time.
	onRemove func(w *writeTx, id []byte, now time.Time) error
	// event names a record in an event of type t; created, updated and
	// deleted are the types its create, update and delete log.
	event                     func(t pb.Event_Type, r T) *pb.Event
	created, updated, deleted pb.Event_Type
	// concerns, when set, names the volunteer an update of r concerns,
	// for its event (requestConcerns).
	concerns func(tx *bolt.Tx, r T) (string, error)
	// onUpdated, when set, brings what depends on r in step with an
	// update of it, in the same transaction, under the update's etag,
	// with the update's checks (see Store.UpdateHelpRequest); prevContact
	// and contact are the record's contact before and after.
	onUpdated func(w *writeTx, sl *sealer, prev, r T, prevContact, contact *pb.Contact, etag string, now time.Time, checks []AcceptCheck) error
}

// read returns a record with its personal fields opened and merged back
// in, except the contact, which it returns on its own. A record whose
// personal data was removed has none, and an empty contact.
func (col *collection[T]) read(sl *sealer, top *bolt.Bucket, id []byte) (T, *pb.Contact, error) {
	var zero T
	r, err := col.readRecord(top, id)
	if err != nil {
		return zero, nil, err
	}
	c, err := col.openInto(sl, top, id, r)
	if err != nil {
		return zero, nil, err
	}
	return r, c, nil
}

// readRecord returns a record as stored, without its personal fields.
func (col *collection[T]) readRecord(top *bolt.Bucket, id []byte) (T, error) {
	var zero T
	r := col.newRec()
	ok, err := getProto(top.Bucket(bRecords), id, r)
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, ErrNotFound
	}
	return r, nil
}

// openInto opens a record's personal fields and merges them into r, as
// read does, returning the contact on its own.
func (col *collection[T]) openInto(sl *sealer, top *bolt.Bucket, id []byte, r T) (*pb.Contact, error) {
	c := &pb.Contact{}
	if sealed := top.Bucket(bContacts).Get(id); sealed != nil {
		p, err := openPersonal(sl, col, id, sealed)
		if err != nil {
			return nil, err
		}
		if pc := col.takeContact(p); pc != nil {
			c = pc
		}
		col.mergePersonal(r, p)
	}
	return c, nil
}

// putRecord stores r without its personal fields, which are sealed apart,
// and returns them. r is left as it was.
func (col *collection[T]) putRecord(w *writeTx, top *bolt.Bucket, id []byte, r T) (T, error) {
	p := col.splitPersonal(r)
	defer col.mergePersonal(r, p)
	return p, putProto(w, top.Bucket(bRecords), id, r)
}

func (col *collection[T]) write(w *writeTx, sl *sealer, top *bolt.Bucket, id []byte, r T, c *pb.Contact) error {
	p, err := col.putRecord(w, top, id, r)
	if err != nil {
		return err
	}
	if !col.removed(r) {
		// p shares r's fields; only the contact is set on it, and it is
		// marshalled before anything else can change them.
		col.setContact(p, c)
		if err := sealPersonal(w, sl, top, id, p); err != nil {
			return err
		}
	}
	return putAll(w, top, col.indexes(sl, id, r, c))
}

// hasPersonal says whether r (without its contact) or c holds personal
// data.
func (col *collection[T]) hasPersonal(r T, c *pb.Contact) bool {
	return proto.Size(col.splitPersonal(proto.Clone(r).(T))) > 0 || proto.Size(c) > 0
}

func (col *collection[T]) create(ctx context.Context, s *BoltStore, in T, idem Idempotency) (T, error) {
	var zero T
	rec := proto.Clone(in).(T)
	contact := col.takeContact(rec)
	if contact == nil {
		contact = &pb.Contact{}
	}
	var out T
	err := s.c.do(ctx, func(w *writeTx) error {
		out = zero
		top := w.tx.Bucket(col.bucket)
		sl := s.sealer(w.tx)
		if idem.RequestID != "" {
			r, found, err := col.readByRequestID(w.tx, sl, idem)
			if err != nil || found {
				out = r
				return err
			}
		}
		if u := col.unique(rec); u != nil && top.Bucket(u.bucket).Get(u.key) != nil {
			return ErrExternalIDExists
		}
		now := s.now()
		uid, err := s.ids.next(now)
		if err != nil {
			return err
		}
		id := uid[:]
		rev, err := bumpRevision(w)
		if err != nil {
			return err
		}
		r := proto.Clone(rec).(T)
		col.onCreate(r)
		col.stamp(r, col.prefix+idString(id), etagOf(rev), timestamp(now), timestamp(now))
		if err := col.write(w, sl, top, id, r, contact); err != nil {
			return err
		}
		if u := col.unique(r); u != nil {
			if err := w.put(top.Bucket(u.bucket), u.key, id); err != nil {
				return err
			}
		}
		if idem.RequestID != "" {
			if err := recordIdempotency(w, col.idemKind, idem, id); err != nil {
				return err
			}
		}
		if err := emit(w, col.event(col.created, r), now); err != nil {
			return err
		}
		col.setContact(r, proto.Clone(contact).(*pb.Contact))
		out = r
		return nil
	})
	if err != nil {
		return zero, fmt.Errorf("store: create %s: %w", col.noun, err)
	}
	return out, nil
}

func (col *collection[T]) get(s *BoltStore, id string) (T, error) {
	var zero T
	key, err := ParseID(id)
	if err != nil {
		return zero, fmt.Errorf("store: get %s: %w", col.noun, ErrNotFound)
	}
	var out T
	err = s.view(func(tx *bolt.Tx) error {
		r, c, err := col.read(s.sealer(tx), tx.Bucket(col.bucket), key)
		if err != nil {
			return err
		}
		col.setContact(r, c)
		out = r
		return nil
	})
	if err != nil {
		return zero, fmt.Errorf("store: get %s: %w", col.noun, err)
	}
	return out, nil
}

// readByRequestID reads, within tx, the record a create with idem made,
// contact included; found is false if none did. ErrRequestIDReused is
// idem's id used for other content, ErrRequestIDGone its record deleted.
func (col *collection[T]) readByRequestID(tx *bolt.Tx, sl *sealer, idem Idempotency) (r T, found bool, err error) {
	id, found, err := lookupIdempotency(tx, col.idemKind, idem)
	if err != nil || !found {
		return r, false, err
	}
	r, c, err := col.read(sl, tx.Bucket(col.bucket), id)
	if errors.Is(err, ErrNotFound) {
		return r, false, ErrRequestIDGone
	}
	if err != nil {
		return r, false, err
	}
	col.setContact(r, c)
	return r, true, nil
}

// byRequestID reads the record a create with idem made: ErrNotFound if
// none did, ErrRequestIDReused if it did with other content,
// ErrRequestIDGone if the record has since been deleted.
func (col *collection[T]) byRequestID(s *BoltStore, idem Idempotency) (T, error) {
	var out T
	err := s.view(func(tx *bolt.Tx) error {
		r, found, err := col.readByRequestID(tx, s.sealer(tx), idem)
		if err == nil && !found {
			err = ErrNotFound
		}
		out = r
		return err
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("store: %s by request id: %w", col.noun, err)
	}
	return out, nil
}

func (col *collection[T]) update(ctx context.Context, s *BoltStore, in T, checks ...AcceptCheck) (T, error) {
	var zero T
	key, err := idFromName(col.name(in), col.prefix)
	if err != nil {
		return zero, fmt.Errorf("store: update %s: %w", col.noun, err)
	}
	rec := proto.Clone(in).(T)
	contact := col.takeContact(rec)
	if contact == nil {
		contact = &pb.Contact{}
	}
	var out T
	err = s.c.do(ctx, func(w *writeTx) error {
		out = zero
		top := w.tx.Bucket(col.bucket)
		sl := s.sealer(w.tx)
		cur, curContact, err := col.read(sl, top, key)
		if err != nil {
			return err
		}
		if col.etag(cur) != col.etag(rec) {
			return ErrEtagMismatch
		}
		// Personal data once removed stays removed: storing new data on
		// the record would undo an erasure the person asked for.
		if col.removed(cur) && col.hasPersonal(rec, contact) {
			return fmt.Errorf("personal data was removed: %w", ErrWrongState)
		}
		r, err := col.edit(w, sl, top, key, cur, curContact, rec, contact, s.now(), true, checks)
		if err != nil {
			return err
		}
		col.setContact(r, proto.Clone(contact).(*pb.Contact))
		out = r
		return nil
	})
	if err != nil {
		return zero, fmt.Errorf("store: update %s: %w", col.noun, err)
	}
	return out, nil
}

// edit stores rec, with contact, over cur, the record at key as read
// with its contact curContact, within w: a new revision and etag, what
// an edit may not change kept from cur (keep), its index entries moved,
// and an update event. It is every edit's body, an update's and the
// schema 14 step's (phonesTodayOf), so that what an edit keeps or writes
// reaches both. judge says whether what depends on the record is judged
// and brought in step (onUpdated, with checks): the step judges nothing.
// It returns the record as stored, without its contact.
func (col *collection[T]) edit(w *writeTx, sl *sealer, top *bolt.Bucket, key []byte, cur T, curContact *pb.Contact, rec T, contact *pb.Contact, now time.Time, judge bool, checks []AcceptCheck) (T, error) {
	var zero T
	rev, err := bumpRevision(w)
	if err != nil {
		return zero, err
	}
	if err := deleteAll(w, top, col.indexes(sl, key, cur, curContact)); err != nil {
		return zero, err
	}
	r := proto.Clone(rec).(T)
	col.keep(r, cur)
	col.stamp(r, col.name(cur), etagOf(rev), nil, timestamp(now))
	if err := col.write(w, sl, top, key, r, contact); err != nil {
		return zero, err
	}
	if judge && col.onUpdated != nil {
		if err := col.onUpdated(w, sl, cur, r, curContact, contact, etagOf(rev), now, checks); err != nil {
			return zero, err
		}
	}
	ev := col.event(col.updated, r)
	if col.concerns != nil {
		if ev.Volunteer, err = col.concerns(w.tx, r); err != nil {
			return zero, err
		}
	}
	if err := emit(w, ev, now); err != nil {
		return zero, err
	}
	return r, nil
}

func (col *collection[T]) remove(ctx context.Context, s *BoltStore, id, etag string) error {
	key, err := ParseID(id)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", col.noun, ErrNotFound)
	}
	err = s.c.do(ctx, func(w *writeTx) error {
		top := w.tx.Bucket(col.bucket)
		sl := s.sealer(w.tx)
		cur, curContact, err := col.read(sl, top, key)
		if err != nil {
			return err
		}
		if etag != "" && col.etag(cur) != etag {
			return ErrEtagMismatch
		}
		if col.deletable != nil {
			if err := col.deletable(cur); err != nil {
				return err
			}
		}
		if _, err := bumpRevision(w); err != nil {
			return err
		}
		if err := emit(w, col.event(col.deleted, cur), s.now()); err != nil {
			return err
		}
		if err := deleteAll(w, top, col.indexes(sl, key, cur, curContact)); err != nil {
			return err
		}
		if u := col.unique(cur); u != nil {
			if err := w.delete(top.Bucket(u.bucket), u.key); err != nil {
				return err
			}
		}
		if err := dropPersonal(w, top, key); err != nil {
			return err
		}
		// bbolt keeps the dropped key and sealed data in free pages, which
		// the key file opens until the epoch rotates. Rotating here would
		// let any partner's deletes rewrite every data key again and
		// again; the next purge (hourly), erasure or Open does it once.
		if err := markRotationDue(w); err != nil {
			return err
		}
		if col.onRemove != nil {
			if err := col.onRemove(w, key, s.now()); err != nil {
				return err
			}
		}
		return w.delete(top.Bucket(bRecords), key)
	})
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", col.noun, err)
	}
	return nil
}

// scan says how to walk a list: which bucket, under which key prefix, and
// what every record must also match. The filter key is what the page token
// is bound to.
type scan[T proto.Message] struct {
	index  []byte // nil: walk the records themselves
	prefix []byte
	// prefixes, when set, are walked instead of prefix as one, in the
	// order of what follows each (ids, oldest first, in by_state): each
	// the same length, so that a page token is the same suffix for all.
	prefixes [][]byte
	// phone, when set, is a number in its form today whose prefix in
	// by_phone is walked.
	phone string
	// pre, when set, is the part of match that needs no personal data: a
	// record it refuses is skipped without being decrypted.
	pre       func(r T) bool
	match     func(r T, c *pb.Contact) bool
	filterKey string
}

// maxScanned bounds the keys one List call reads, so that a selective
// filter cannot hold a read transaction open across a large collection;
// the caller gets a short page and a token to go on. (A variable only so
// that tests can lower it.)
var maxScanned = 10000

// mergedCursor walks the keys under several prefixes of one bucket as
// one, in the order of what follows each prefix; under one prefix it is a
// plain walk. The keys are the read transaction's, valid until it ends.
type mergedCursor struct {
	prefixes [][]byte
	curs     []*bolt.Cursor
	keys     [][]byte // each cursor's key not yet taken; nil once it is past its prefix
}

// newMergedCursor starts a walk of b's keys under prefixes after the
// suffix resume (from the start when resume is nil).
func newMergedCursor(b *bolt.Bucket, prefixes [][]byte, resume []byte) *mergedCursor {
	m := &mergedCursor{prefixes: prefixes, curs: make([]*bolt.Cursor, len(prefixes)), keys: make([][]byte, len(prefixes))}
	for i, prefix := range prefixes {
		cur := b.Cursor()
		start := append(bytes.Clone(prefix), resume...)
		k, _ := cur.Seek(start)
		if resume != nil && bytes.Equal(k, start) {
			k, _ = cur.Next()
		}
		m.curs[i] = cur
		m.keys[i] = m.within(i, k)
	}
	return m
}

func (m *mergedCursor) within(i int, k []byte) []byte {
	if k == nil || !bytes.HasPrefix(k, m.prefixes[i]) {
		return nil
	}
	return k
}

// next returns the next key and the part of it after its prefix; a nil
// key when every prefix is walked.
func (m *mergedCursor) next() (k, suffix []byte) {
	at := -1
	for i, k := range m.keys {
		if k != nil && (at < 0 || bytes.Compare(k[len(m.prefixes[i]):], m.keys[at][len(m.prefixes[at]):]) < 0) {
			at = i
		}
	}
	if at < 0 {
		return nil, nil
	}
	k = m.keys[at]
	next, _ := m.curs[at].Next()
	m.keys[at] = m.within(at, next)
	return k, k[len(m.prefixes[at]):]
}

func (col *collection[T]) list(s *BoltStore, sc scan[T], p Page) ([]T, string, error) {
	if p.Size < 1 {
		return nil, "", fmt.Errorf("store: list %s: page size %d", col.noun, p.Size)
	}
	resume, err := s.decodeToken(p.Token, sc.filterKey)
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s: %w", col.noun, err)
	}
	var out []T
	var next string
	err = s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(col.bucket)
		sl := s.sealer(tx)
		walk := top.Bucket(bRecords)
		if sc.index != nil {
			walk = top.Bucket(sc.index)
		}
		prefixes := sc.prefixes
		if sc.phone != "" {
			// The hash depends on the epoch this transaction sees; the
			// page token holds only what follows it, so a rotation
			// between pages loses nothing.
			p, err := sl.phonePrefix(sc.phone)
			if err != nil {
				return err
			}
			prefixes = [][]byte{p}
		}
		if prefixes == nil {
			prefixes = [][]byte{sc.prefix}
		}
		cur := newMergedCursor(walk, prefixes, resume)
		// full is after the last record taken: where the next page
		// starts once this one is full. A key after it is no reason for a
		// token: the index holds every group's records, and a token (with
		// an empty page behind it) after a partner's last request by a
		// number or a postcode would tell it that another group has one
		// there. The walk goes on to the next record the filter takes,
		// which the token resumes before, and gives none if there is none.
		var full []byte
		for scanned := 0; ; {
			k, suffix := cur.next()
			if k == nil {
				break
			}
			// Stopping with k unread: resume after the last key read,
			// which past full is one the filter refused.
			if scanned == maxScanned {
				next = s.encodeToken(sc.filterKey, resume)
				return nil
			}
			scanned++
			id := k
			if sc.index != nil {
				if len(k) < 16 {
					return fmt.Errorf("index key of %d bytes", len(k))
				}
				id = k[len(k)-16:]
			}
			resume = suffix
			r, err := col.readRecord(top, id)
			if err != nil {
				return err
			}
			if sc.pre != nil && !sc.pre(r) {
				continue
			}
			c, err := col.openInto(sl, top, id, r)
			if err != nil {
				return err
			}
			if !sc.match(r, c) {
				continue
			}
			if len(out) == p.Size {
				next = s.encodeToken(sc.filterKey, full)
				return nil
			}
			col.setContact(r, c)
			out = append(out, r)
			full = resume
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s: %w", col.noun, err)
	}
	return out, next, nil
}
