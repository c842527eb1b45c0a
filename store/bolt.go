package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// SchemaVersion is the bucket layout this code writes (see the package doc).
const SchemaVersion = 14

var (
	bMeta          = []byte("meta")
	bHelpRequests  = []byte("help_requests")
	bVolunteers    = []byte("volunteers")
	bIdempotency   = []byte("idempotency")
	bPostcodes     = []byte("postcodes")
	bOffers        = []byte("offers")
	bRecords       = []byte("records")
	bContacts      = []byte("contacts")
	bByState       = []byte("by_state")
	bByOrg         = []byte("by_org")
	bByExternalID  = []byte("by_external_id")
	bByPhone       = []byte("by_phone")
	bByPostcode    = []byte("by_postcode")
	bByExpiry      = []byte("by_expiry")
	bByRequest     = []byte("by_request")
	bByVolunteer   = []byte("by_volunteer")
	bPhoneToken    = []byte("phone_token")
	kSchemaVersion = []byte("schema_version")
	kRevision      = []byte("revision")
	// kGazetteerLoading is set while a gazetteer load is under way: its
	// chunks commit one by one, so one that stops part-way leaves it.
	kGazetteerLoading = []byte("gazetteer_loading")
)

const (
	helpRequestPrefix = "helpRequests/"
	volunteerPrefix   = "volunteers/"
	offerPrefix       = "offers/"
)

// migrations[v] takes a file from schema version v to v+1.
var migrations = []func(tx *bolt.Tx) error{
	createLayoutV1,
	createLayoutV2,
	createLayoutV3,
	createLayoutV4,
	createLayoutV5,
	createLayoutV6,
	fillCommitments,
	createAuditIndex,
	changesNoBuckets, // 9: migrate ends the tokens of volunteers gone before (endGoneVolunteerTokens)
	changesNoBuckets, // 10: migrate seals the names of volunteers' tokens (sealTokenNames)
	changesNoBuckets, // 11: migrate indexes tokens by volunteer (indexVolunteerTokens)
	placeCallsFromAfar,
	lowerRequestIDs,
	changesNoBuckets, // 14: migrate gives stored numbers today's form (phonesToday)
}

// lowerRequestIDs (version 13) keys the request ids older versions
// recorded in capitals in lower case, as idempotencyKey now reads them:
// kept as sent, a retry of such a create, in either case, found nothing
// and stored the request or volunteer a second time. Where an id was
// recorded in both cases (that very second create), the lower case one
// stays, as the retries since have found it.
func lowerRequestIDs(tx *bolt.Tx) error {
	b := tx.Bucket(bIdempotency)
	type moved struct{ from, to, v []byte }
	var out []moved
	err := b.ForEach(func(k, v []byte) error {
		// The id follows the last "/" (after a scope) or the kind's 0x00;
		// a scope, an organisation, is lower case already.
		i := max(bytes.LastIndexByte(k, '/'), bytes.IndexByte(k, 0)) + 1
		if low := bytes.ToLower(k[i:]); !bytes.Equal(low, k[i:]) {
			out = append(out, moved{bytes.Clone(k), append(bytes.Clone(k[:i]), low...), bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range out {
		if b.Get(m.to) == nil {
			if err := b.Put(m.to, m.v); err != nil {
				return err
			}
		}
		if err := b.Delete(m.from); err != nil {
			return err
		}
	}
	return nil
}

// changesNoBuckets is a step whose work migrate does, as it needs the
// store's clock, which a step is not given.
func changesNoBuckets(*bolt.Tx) error { return nil }

func createLayoutV1(tx *bolt.Tx) error {
	for _, top := range [][]byte{bMeta, bIdempotency, bPostcodes} {
		if _, err := tx.CreateBucketIfNotExists(top); err != nil {
			return err
		}
	}
	layout := map[string][][]byte{
		string(bHelpRequests): {bRecords, bContacts, bByState, bByOrg, bByExternalID, bByPhone, bByPostcode},
		string(bVolunteers):   {bRecords, bContacts, bByOrg, bByPhone, bByPostcode},
	}
	for top, subs := range layout {
		b, err := tx.CreateBucketIfNotExists([]byte(top))
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if _, err := b.CreateBucketIfNotExists(sub); err != nil {
				return err
			}
		}
	}
	return nil
}

// createLayoutV2 adds the offers.
func createLayoutV2(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bOffers)
	if err != nil {
		return err
	}
	for _, sub := range [][]byte{bRecords, bByExpiry, bByRequest} {
		if _, err := b.CreateBucketIfNotExists(sub); err != nil {
			return err
		}
	}
	return nil
}

// createLayoutV5 indexes offers by volunteer, so that a volunteer's app
// and the helpline taking a volunteer's call can find their offers
// (ListOffers) without walking every offer ever made.
func createLayoutV5(tx *bolt.Tx) error {
	offers := tx.Bucket(bOffers)
	if _, err := offers.CreateBucketIfNotExists(bByVolunteer); err != nil {
		return err
	}
	var entries []index
	err := offers.Bucket(bRecords).ForEach(func(k, v []byte) error {
		o := &pb.Offer{}
		if err := pb.UnmarshalTrusted(v, o); err != nil {
			return fmt.Errorf("offer %s: %w", idString(k), err)
		}
		volID, err := idFromName(o.Volunteer, volunteerPrefix)
		if err != nil {
			return fmt.Errorf("offer %s: volunteer: %w", idString(k), err)
		}
		entries = append(entries, index{bucket: bByVolunteer, key: append(volID, k...)})
		return nil
	})
	if err != nil {
		return err
	}
	return putInOrder(offers, entries)
}

// createLayoutV6 adds each request's phone hash by id (phone_token), so
// that matching finds the requester's earlier requests without opening
// the request's sealed contact. Filling it needs the keyring, so migrate
// does that (rebuildPhoneIndex) in the same transaction.
func createLayoutV6(tx *bolt.Tx) error {
	_, err := tx.Bucket(bHelpRequests).CreateBucketIfNotExists(bPhoneToken)
	return err
}

// fillCommitments (version 7) notes on each volunteer the requests with a
// window they hold an offer or an assignment for (Volunteer.commitments),
// from the offers already stored: a PENDING offer, or an ACCEPTED one whose
// request is still ASSIGNED to them.
func fillCommitments(tx *bolt.Tx) error {
	hrs, vols := tx.Bucket(bHelpRequests), tx.Bucket(bVolunteers)
	held := map[string][]*pb.Commitment{} // by volunteer id
	err := tx.Bucket(bOffers).Bucket(bRecords).ForEach(func(_, raw []byte) error {
		o := &pb.Offer{}
		if err := proto.Unmarshal(raw, o); err != nil {
			return err
		}
		if o.State != pb.Offer_STATE_PENDING && o.State != pb.Offer_STATE_ACCEPTED {
			return nil
		}
		rid, err := idFromName(o.HelpRequest, helpRequestPrefix)
		if err != nil {
			return err
		}
		r, err := helpRequests.readRecord(hrs, rid)
		if err != nil {
			return fmt.Errorf("%s of %s: %w", o.HelpRequest, o.Name, err)
		}
		if o.State == pb.Offer_STATE_ACCEPTED && (r.State != pb.HelpRequest_STATE_ASSIGNED || r.AssignedVolunteer != o.Volunteer) {
			return nil
		}
		if c := commitmentOf(r); c != nil {
			held[o.Volunteer] = append(held[o.Volunteer], c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w := &writeTx{tx: tx}
	for name, cs := range held {
		id, err := idFromName(name, volunteerPrefix)
		if err != nil {
			return err
		}
		v, err := volunteers.readRecord(vols, id)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		v.Commitments = cs
		if err := putProto(w, vols.Bucket(bRecords), id, v); err != nil {
			return err
		}
	}
	return nil
}

// placeCallsFromAfar (version 12) takes the street off the commitments to
// calls from afar, which older versions noted at the caller's street as
// if a visit: there the matcher made one round of the call and a
// neighbour's visit at that time, and sent the volunteer holding the call
// to both in the time of one. Written now (commitmentOf), a call is at no
// street, and takes its own time.
func placeCallsFromAfar(tx *bolt.Tx) error {
	hrs, vols := tx.Bucket(bHelpRequests), tx.Bucket(bVolunteers)
	w := &writeTx{tx: tx}
	type fixed struct {
		id []byte
		v  *pb.Volunteer
	}
	var out []fixed
	err := vols.Bucket(bRecords).ForEach(func(k, _ []byte) error {
		v, err := volunteers.readRecord(vols, k)
		if err != nil {
			return err
		}
		changed := false
		for _, c := range v.Commitments {
			if c.Location == nil {
				continue
			}
			rid, err := idFromName(c.HelpRequest, helpRequestPrefix)
			if err != nil {
				return err
			}
			r, err := helpRequests.readRecord(hrs, rid)
			if errors.Is(err, ErrNotFound) {
				continue // nothing to judge it by: left as it was
			}
			if err != nil {
				return fmt.Errorf("%s of %s: %w", c.HelpRequest, v.Name, err)
			}
			if !visits(r) {
				c.Location, changed = nil, true
			}
		}
		if changed {
			out = append(out, fixed{bytes.Clone(k), v})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: a bucket is not changed while it is walked.
	for _, f := range out {
		if err := putProto(w, vols.Bucket(bRecords), f.id, f.v); err != nil {
			return err
		}
	}
	return nil
}

// phoneTokenSchema is the first schema version with phone_token.
const phoneTokenSchema = 6

// goneTokensSchema is the first schema version whose files hold no
// working token of a volunteer whose record is gone.
const goneTokensSchema = 9

// volunteerTokensSchema is the first schema version that indexes tokens
// by volunteer.
const volunteerTokensSchema = 11

// sealedTokenNamesSchema is the first schema version that seals the names
// of volunteers' tokens.
const sealedTokenNamesSchema = 10

// BoltStore is the Store on one bbolt file.
type BoltStore struct {
	db     *bolt.DB
	c      *committer
	ids    *idGen
	now    func() time.Time
	logger *zap.Logger
	// pauseAfter is how many offers in a row may run out unanswered
	// before their volunteer is paused (WithPauseAfterUnanswered).
	pauseAfter int32

	// The keyring (personal.go). keyMu is held for reading by every read
	// transaction and for writing while epochs are dropped, so that no
	// reader loses the epoch its transaction's data is wrapped under.
	keyPath  string
	ring     atomic.Pointer[keyring]
	keyMu    sync.RWMutex
	rotateMu sync.Mutex // one rotation at a time

	tokens tokenCache // auth.go

	pages *pageSealer // seals page tokens (page_token.go), set at Open
}

var _ Store = (*BoltStore)(nil)

type options struct {
	timeout    time.Duration
	now        func() time.Time
	logger     *zap.Logger
	keyFile    string
	restored   bool
	pauseAfter int
	observe    func(CommitStats)
	maxSize    int // bbolt's Options.MaxSize: mappableSize, or a test's
}

// Option configures Open.
type Option func(*options)

// WithOpenTimeout sets how long Open waits for another process to release
// the file before failing with ErrInUse. The default is one second.
func WithOpenTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock sets the source of create and update times.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithKeyFile sets the key file that protects personal data; the default
// is the data file's path with ".keys" added. It is created, mode 0600, for
// a data file that holds no encrypted data yet.
func WithKeyFile(path string) Option { return func(o *options) { o.keyFile = path } }

// WithRestored says the file was put back from a copy that Backup did not
// write (one taken with the server stopped, a disk snapshot), which
// carries no backup's mark: Open treats it as a restored backup, moving
// the revision on past any the live store may have handed out since the
// copy and telling every watcher to reload. Give it on the first start
// after such a restore only: each start given it sends every watcher to
// reload.
func WithRestored() Option { return func(o *options) { o.restored = true } }

// WithCommitObserver has f told of each commit of the store's writer, on
// the writer's goroutine: it must not block, nor write to the store.
func WithCommitObserver(f func(CommitStats)) Option { return func(o *options) { o.observe = f } }

// DefaultPauseAfterUnanswered is how many offers in a row a volunteer may
// leave unanswered before they are paused, unless
// WithPauseAfterUnanswered says otherwise. One lapse is a phone left in a
// coat; three in a row, at a lease each, is someone no longer reading
// their offers, and every request offered to them waits out the lease.
const DefaultPauseAfterUnanswered = 3

// WithPauseAfterUnanswered sets how many offers in a row may lapse
// unanswered before the store pauses their volunteer, in the lapse's own
// write (pb.Volunteer.unanswered_offers); 0 never pauses.
func WithPauseAfterUnanswered(n int) Option { return func(o *options) { o.pauseAfter = n } }

// initialMmapSize is how much of the address space the data file's
// mapping takes at open: 1 GiB, or 128 MiB where an int is 32 bits. A
// 32-bit process has 3 or 4 GiB of address space in all, and an upgrade's
// compaction (compactFile) maps a second file beside the first: with
// 1 GiB each, mappings on 386 failed with "cannot allocate memory" once
// a few were open. Past 128 MiB, bbolt remaps as the file grows.
const initialMmapSize = min(1<<30, math.MaxInt>>4)

// mappableSize is the most the data file may grow to while it serves: 0
// (no bound) where an int is 64 bits; where it is 32 bits, 64 MiB short of
// the 2 GiB bbolt maps (1984 MiB). Without a bound, bbolt grows the
// file by the size it needs plus 16 MiB (its AllocSize) in an int, which
// past about 2031 MiB wraps negative: every write then failed, after
// seconds, as "file resize error: truncate: invalid argument", which
// points at the file system. With it, bbolt refuses a page that would
// take the file, grown so, past the bound (ErrMapLimitReached) before
// any truncate; the 64 MiB left over is more than any one write of the
// store allocates at once, so no write jumps past the bound into the wrap.
const mappableSize = 1<<31 - 64<<20

// Open opens or creates the store file at path and brings its schema up to
// date.
func Open(path string, opts ...Option) (*BoltStore, error) {
	o := options{timeout: time.Second, now: time.Now, logger: zap.NewNop(), pauseAfter: DefaultPauseAfterUnanswered}
	if math.MaxInt == math.MaxInt32 {
		o.maxSize = mappableSize
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil || o.now == nil || o.timeout <= 0 {
		return nil, errors.New("store: open: logger, clock and a positive timeout are required")
	}
	if o.pauseAfter < 0 || o.pauseAfter > math.MaxInt32 {
		return nil, fmt.Errorf("store: open: pause after %d unanswered offers: not 0 or more", o.pauseAfter)
	}
	boltOpts := &bolt.Options{
		Timeout: o.timeout,
		// The freelist is rebuilt from the pages at open instead of being
		// written by every commit: fewer pages to fsync per write.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Mapping a large range up front spares the writer the remaps
		// (which wait for every reader) while the file grows; it reserves
		// address space, not memory (initialMmapSize).
		InitialMmapSize: initialMmapSize,
		// bbolt's statistics take a shared lock on every transaction.
		NoStatistics: true,
		// Open reads every page (the free-list rebuild) and the server's
		// start reads most of them again: have the kernel read the file
		// in order first (mmap_linux.go).
		MmapFlags: populateFlags,
		MaxSize:   o.maxSize,
	}
	if o.keyFile == "" {
		o.keyFile = path + ".keys"
	}
	if err := checkDataFileThere(path, o.keyFile); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := checkMappable(path); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := checkDataFileWhole(path); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := checkPagesWritten(path, o.timeout); errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrInUse)
	} else if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db, err := openLocked(path, boltOpts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrInUse)
	}
	if notBolt(err) {
		return nil, fmt.Errorf("store: open %s: %w (bbolt: %v): not a bbolt file, or one cut short "+
			"(the key file copied over it? a backup still compressed?); put back doorstep.db as a backup holds it "+
			"(doorstep admin backup, or a copy taken with the server stopped)", path, ErrNotDataFile, err)
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// bbolt opens the file to write it, and its words alone ("permission
		// denied") name neither the access wanted nor the likely cause.
		if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
			// A first start: there is no file to give access to, and the
			// directory, which the new file (and its key file) go in, is
			// what refused it.
			return nil, fmt.Errorf("store: open %s: the server's user cannot make it in %s (%w): give that user write access "+
				"to that directory (made by another user? a read-only mount?)", path, filepath.Dir(path), err)
		}
		return nil, fmt.Errorf("store: open %s: the server's user cannot write it (%w): give that user read and write access "+
			"to it and its key file (files restored as another user? a read-only mount?)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// bbolt syncs the file's pages, not its name: a new file's, or one
	// put back by a copy, which a power cut would lose with every write
	// acknowledged in it. Before the key file is made: one left without
	// its data file stops every later start (ErrDataFileMissing).
	if err := syncDir(filepath.Dir(path)); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: sync its directory: %w", path, err)
	}
	if err := checkNotDamaged(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &BoltStore{db: db, ids: newIDGen(), now: o.now, logger: o.logger, pauseAfter: int32(o.pauseAfter)}
	if err := s.openKeys(o.keyFile); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Before the upgrade steps, which write audit records (schema 14) at
	// a first start whose clock may read behind the newest record.
	if err := s.seedIDs(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.migrate(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.fillAuditIndex(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	due, err := compactionDue(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if due {
		// The start waits on it (4.6 s for a file of a million
		// volunteers on this project's VM): say so before, not once it is
		// over, and how much room the copy may take.
		var size int64
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
		s.logger.Info("store compacting the file",
			zap.String("why", "pages an upgrade freed may still hold the personal data it took out; a copy is written beside the file, and the store opens when it is done"),
			zap.Int64("bytes", size))
		start := time.Now()
		if db, err = compactFile(path, db, boltOpts); err != nil {
			if db != nil {
				_ = db.Close()
			}
			// Not "after sealing": the upgrade to schema 9 seals nothing,
			// and the operator must know why the start waits on it.
			return nil, fmt.Errorf("store: open %s: compact the file, whose freed pages may still hold personal data: %w", path, err)
		}
		s.db = db
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
		s.logger.Info("store file compacted", zap.Int64("bytes", size), zap.Duration("took", time.Since(start)))
	}
	// Only the mappings made while opening are read in whole. A later one,
	// when the file outgrows its mapping, is made by a writer while every
	// reader waits, and the pages are in memory by then anyway.
	s.db.MmapFlags = 0
	rev, err := s.Revision()
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.c = newCommitter(db, rev)
	s.c.audit = s.writeAudit
	s.c.observe = o.observe
	if err := s.settleKeys(); err != nil {
		s.c.close()
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: keys: %w", path, err)
	}
	// Last, once nothing can refuse the file: a start refused (the wrong
	// key file) must not take the mark off, or the start put right would
	// not warn.
	if err := s.warnRestored(o.restored); err != nil {
		s.c.close()
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// seedIDs starts new ids after the newest stored: lists and the audit
// log are in id order, and a clock set back across a restart (a machine
// whose clock ran fast until NTP caught it) would otherwise file new
// records, and the audit of new reads, before older ones.
func (s *BoltStore) seedIDs() error {
	var newest uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		buckets := []*bolt.Bucket{tx.Bucket(bAudit)}
		for _, top := range [][]byte{bHelpRequests, bVolunteers, bOffers, bTokens} {
			if t := tx.Bucket(top); t != nil {
				buckets = append(buckets, t.Bucket(bRecords))
			}
		}
		for _, b := range buckets {
			if b == nil {
				continue
			}
			if k, _ := b.Cursor().Last(); len(k) == len(ulid.ULID{}) {
				var u ulid.ULID
				copy(u[:], k)
				s.ids.after(u.Time())
				newest = max(newest, u.Time())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A clock behind the newest record is wrong, or wrote the data wrong:
	// either way leases, windows, retention and close times are stamped
	// and judged by it, and nothing else tells the operator.
	if now := s.now(); newest > 0 && ulid.Time(newest).After(now.Add(clockSlack)) {
		s.logger.Warn("the clock reads before the newest record: either the clock is behind (set it right, with NTP), "+
			"or records were stamped while it ran ahead and it has been put right since, and this stops once it passes them",
			zap.Time("clock", now), zap.Time("newest_record", ulid.Time(newest)))
	}
	return nil
}

// topBuckets are the names the store gives the buckets at a file's root.
var topBuckets = [][]byte{bMeta, bHelpRequests, bVolunteers, bIdempotency, bPostcodes, bOffers,
	bEvents, bKeys, bTokens, bOrganisations, bAudit, bAuditByResource}

// checkNotDamaged refuses a file with no schema version whose root holds
// anything but the store's own buckets (ErrDamaged), before a key file is
// made for it or a layout laid over it. Every version writes the version
// in the transaction that makes its first bucket, so a file of its own
// without one is new, and the migration from zero makes what is missing.
func checkNotDamaged(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bMeta); meta != nil && len(meta.Get(kSchemaVersion)) == 8 {
			return nil
		}
		c := tx.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v != nil || !slices.ContainsFunc(topBuckets, func(b []byte) bool { return bytes.Equal(b, k) }) {
				return ErrDamaged
			}
		}
		return nil
	})
}

// checkDataFileThere refuses a data file that is missing or empty while
// its key file is there (ErrDataFileMissing), before bbolt makes a new
// file of it. The key file is made at a data file's first start, after
// bbolt has written and synced the file's first pages, so it says the
// data it belongs to is gone: moved away in a restore done by hand, or a
// copy that failed on a full disk. Taken for a new file, it would start
// as an empty store with a new admin token and take in new work over the
// loss. Anything else stat says is left to bbolt and the key file's read
// to report.
func checkDataFileThere(path, keyPath string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil, fi.Size() > 0:
		return nil
	}
	if _, err := os.Stat(keyPath); err != nil {
		return nil
	}
	return fmt.Errorf("%w, %s, which only a data file's first start makes: the data it belongs to was moved away, "+
		"or a copy of it failed; put back the data file saved with that key file (a backup), "+
		"or, to start a new, empty store, move the key file away", ErrDataFileMissing, keyPath)
}

// checkMappable refuses a data file larger than bbolt can map here
// (ErrTooLargeToMap): where an int is 32 bits, bbolt maps at most
// math.MaxInt32 bytes, and reads the file's size into an int, so that one
// of 2 to 4 GiB reads as negative ("file size too small", which Open
// would take for a file that is not bbolt's) and a larger one as the few
// bytes past a multiple of 4 GiB, mapped and grown from there as if that
// were all of it. On a 64-bit system no file is that large.
func checkMappable(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() <= math.MaxInt {
		return nil
	}
	return fmt.Errorf("%w: %d bytes, past the %d a 32-bit system maps; the file is whole: "+
		"run a doorstepd built for a 64-bit system (linux/arm64 on a Raspberry Pi 3, 4 or 5 with 64-bit Raspberry Pi OS, "+
		"linux/amd64 on a PC) and give it this file and its key file as they are",
		ErrTooLargeToMap, fi.Size(), int64(math.MaxInt))
}

// checkDataFileWhole refuses a data file shorter than its last commit
// left it (ErrNotDataFile): a copy cut short (a full disk, a transfer
// stopped part-way) whose first pages are whole. bbolt opens such a file
// and, rebuilding its free list, reads a page past its end: the process
// dies of SIGBUS with a trace of every goroutine, naming no file and
// nothing to put back. It reads the file before bbolt's lock, as bbolt's
// own page-size probe does: bbolt grows a file before a meta page names
// the new size, so a file in use is never taken for one cut short.
// Anything else (no meta page that reads as bbolt's) is left to bbolt.
func checkDataFileWhole(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	need, ok := boltSize(f)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() >= need {
		return nil
	}
	return fmt.Errorf("%w: cut short, %d bytes of the %d its last write left (a copy that failed, on a full disk?); "+
		"put back %s as a backup holds it (doorstep admin backup, or a copy taken with the server stopped)",
		ErrNotDataFile, fi.Size(), need, filepath.Base(path))
}

// boltMeta is the meta page of a bbolt file that bbolt would open it at:
// the valid one of the higher transaction id (DB.meta), the second found
// at the first's page size, or, the first being invalid, where bbolt's
// getPageSize looks for it. The layout is bbolt's file format version 2,
// in the machine's byte order.
type boltMeta struct {
	pageSize             uint32
	root, freelist, pgid uint64
	txid                 uint64
}

// noFreelist is a meta page's freelist when the free list is not written
// to the file (bbolt's PgidNoFreelist: NoFreelistSync).
const noFreelist = math.MaxUint64

func readBoltMeta(f *os.File) (boltMeta, bool) {
	read := func(off int64) (boltMeta, bool) {
		// A page header (16 bytes), then magic(4) version(4)
		// page_size(4) flags(4) root(16) freelist(8) pgid(8) txid(8)
		// checksum(8), the checksum FNV-1a of what comes before it.
		var buf [16 + 64]byte
		if n, _ := f.ReadAt(buf[:], off); n != len(buf) {
			return boltMeta{}, false
		}
		m, ne := buf[16:], binary.NativeEndian
		h := fnv.New64a()
		_, _ = h.Write(m[:56])
		if ne.Uint32(m[0:]) != 0xED0CDAED || ne.Uint32(m[4:]) != 2 || h.Sum64() != ne.Uint64(m[56:]) {
			return boltMeta{}, false
		}
		return boltMeta{ne.Uint32(m[8:]), ne.Uint64(m[16:]), ne.Uint64(m[32:]), ne.Uint64(m[40:]), ne.Uint64(m[48:])}, true
	}
	m0, ok0 := read(0)
	pageSize := m0.pageSize
	if !ok0 {
		for i := range 15 {
			if m, ok := read(1024 << i); ok {
				pageSize = m.pageSize
				break
			}
		}
	}
	if pageSize == 0 {
		return boltMeta{}, false
	}
	m1, ok1 := read(int64(pageSize))
	var m boltMeta
	switch {
	case ok0 && ok1:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case ok0:
		m = m0
	case ok1:
		m = m1
	default:
		return boltMeta{}, false
	}
	if m.pageSize == 0 || m.pgid > math.MaxInt64/uint64(m.pageSize) {
		return boltMeta{}, false
	}
	return m, true
}

// boltSize is the size a bbolt file's pages take by the meta page bbolt
// would open it at (readBoltMeta).
func boltSize(f *os.File) (int64, bool) {
	m, ok := readBoltMeta(f)
	if !ok {
		return 0, false
	}
	return int64(m.pgid) * int64(m.pageSize), true
}

// checkPagesWritten refuses a data file (ErrNotDataFile) whose size is
// whole but some of whose pages in use were never written: a copy into a
// file made its full size first (Windows' copy, rsync --preallocate, a
// download tool) that stopped part-way leaves zeros where the rest of
// the file should be. bbolt opens such a file and, rebuilding its free
// list, finds a page that does not say it is the page asked for: it
// panics in a goroutine of its own, which nothing can recover, and the
// server dies with a trace of every goroutine, naming no file and nothing
// to put back. Every page the trees reach, and the free list's, is read
// here with the file's shared lock held, as a read-only bbolt holds it: a
// server writing the file keeps it out, and a wait longer than timeout
// is bolterrors.ErrTimeout. What bbolt itself cannot open is left to it.
func checkPagesWritten(path string, timeout time.Duration) error {
	var f *os.File
	// The walk reads pages in tree order, one at a time: from a cold page
	// cache (after a reboot) that took 10-12 s for a file of about a
	// million records, where the open's read in order takes 4-6 s. Have
	// the kernel read the file in order first, as the open would
	// (mmap_linux.go), and the walk and the open both find it in memory.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout, MmapFlags: populateFlags,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			var err error
			f, err = os.OpenFile(name, flag, perm)
			return f, err
		}})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return err
	}
	if err != nil {
		return nil
	}
	defer func() { _ = db.Close() }()
	m, ok := readBoltMeta(f)
	if !ok {
		return nil
	}
	if bad, asIn := unwrittenPage(f, m); bad != "" {
		return fmt.Errorf("%w: %s, as in %s; "+
			"put back %s as a backup holds it (doorstep admin backup, or a copy taken with the server stopped)",
			ErrNotDataFile, bad, asIn, filepath.Base(path))
	}
	return nil
}

// unwrittenPage walks every page the meta page m's trees reach (branch
// pages, leaf pages, the roots of the buckets in them) and its free list,
// and says which is not as bbolt wrote it ("" if none is), and what
// leaves a file so: a page that does not name itself, or is neither a
// branch nor a leaf, or runs past the pages in use, or whose keys are out
// of bbolt's order (written only in part), or that is of two types at
// once, or that is reached from two places, with its overflow (bbolt's
// check at open panics on those too). It reads the file, not bbolt's map
// of it: a file shorter than its pages is refused before
// (checkDataFileWhole).
func unwrittenPage(f *os.File, m boltMeta) (bad, asIn string) {
	asIn = "a copy stopped part-way into a file made its full size first"
	const (
		headerSize   = 16 // id(8) flags(2) count(2) overflow(4)
		elemSize     = 16 // branch: pos(4) ksize(4) pgid(8); leaf: flags(4) pos(4) ksize(4) vsize(4)
		branchFlag   = 0x01
		leafFlag     = 0x02
		freelistFlag = 0x10
		bucketLeaf   = 0x01
	)
	ne, ps := binary.NativeEndian, int64(m.pageSize)
	seen := make([]bool, m.pgid)
	buf := make([]byte, ps) // the page read last, read over by the next
	// read is page id whole (with its overflow), in buf, or a reason it
	// is not one bbolt wrote.
	read := func(id uint64, want uint16) ([]byte, string) {
		if id < 2 || id >= m.pgid {
			return nil, fmt.Sprintf("page %d is past the %d pages in use", id, m.pgid)
		}
		p := buf[:ps]
		if n, _ := f.ReadAt(p, int64(id)*ps); n != len(p) {
			return nil, fmt.Sprintf("page %d cannot be read", id)
		}
		flags, overflow := ne.Uint16(p[8:]), uint64(ne.Uint32(p[12:]))
		if got := ne.Uint64(p[0:]); got != id || flags&want == 0 {
			return nil, fmt.Sprintf("page %d was never written (it reads as page %d, flags %#x)", id, got, flags)
		}
		if flags&(flags-1) != 0 {
			// bbolt takes a page for exactly one type, and panics at
			// open on one of two. No copy writes it: a bit flipped.
			asIn = "damage on the disk"
			return nil, fmt.Sprintf("page %d is of two types at once (flags %#x)", id, flags)
		}
		if overflow >= m.pgid-id {
			return nil, fmt.Sprintf("page %d runs past the %d pages in use", id, m.pgid)
		}
		if overflow > 0 {
			if n := int64(overflow+1) * ps; int64(cap(buf)) < n {
				buf = append(buf[:ps], make([]byte, n-ps)...)
			}
			p = buf[:int64(overflow+1)*ps]
			if n, _ := f.ReadAt(p[ps:], int64(id+1)*ps); n != len(p)-int(ps) {
				return nil, fmt.Sprintf("page %d cannot be read", id)
			}
		}
		return p, ""
	}
	if m.freelist != noFreelist {
		if _, bad := read(m.freelist, freelistFlag); bad != "" {
			return bad, asIn
		}
	}
	// Each page is walked with the keys bbolt's own check at open holds
	// its keys between (at least lo, below hi): a copy stops where its
	// last write did, not at a page's edge, and a page it stopped in names
	// itself, with zeros for keys after that, which bbolt dies of too.
	type walk struct {
		id     uint64
		lo, hi []byte
	}
	stack := []walk{{id: m.root}}
	for len(stack) > 0 {
		w := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		id := w.id
		p, bad := read(id, branchFlag|leafFlag)
		if bad != "" {
			return bad, asIn
		}
		// bbolt counts a page's overflow as reached with it.
		for o := range uint64(ne.Uint32(p[12:])) + 1 {
			if seen[id+o] {
				// Pages from before and after a commit, each whole: a
				// page a newer leaf names was another tree's before it.
				// A bit flipped in a page number reads the same.
				return fmt.Sprintf("page %d is reached from two places", id+o), "a copy taken while the server wrote the file, or a page number damaged on the disk"
			}
			seen[id+o] = true
		}
		flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
		if headerSize+count*elemSize > len(p) {
			return fmt.Sprintf("page %d holds more than fits in it", id), asIn
		}
		torn := fmt.Sprintf("page %d was written only in part (its keys are out of order)", id)
		prev := w.lo
		for i := range count {
			off := headerSize + i*elemSize
			e := p[off:]
			var kpos, ksize, vsize int
			if flags&branchFlag != 0 {
				kpos, ksize = off+int(ne.Uint32(e[0:])), int(ne.Uint32(e[4:]))
			} else {
				kpos, ksize, vsize = off+int(ne.Uint32(e[4:])), int(ne.Uint32(e[8:])), int(ne.Uint32(e[12:]))
			}
			if ksize == 0 || kpos+ksize+vsize > len(p) {
				return torn, asIn
			}
			key := p[kpos : kpos+ksize]
			if prev != nil && (bytes.Compare(key, prev) < 0 || i > 0 && bytes.Equal(key, prev)) || w.hi != nil && bytes.Compare(key, w.hi) >= 0 {
				return torn, asIn
			}
			prev = key
			if flags&branchFlag != 0 {
				c := walk{id: ne.Uint64(e[8:]), lo: bytes.Clone(key), hi: w.hi}
				if i+1 < count {
					// The next key, read with bounds as this one was.
					n := p[off+elemSize:]
					npos, nsize := off+elemSize+int(ne.Uint32(n[0:])), int(ne.Uint32(n[4:]))
					if nsize == 0 || npos+nsize > len(p) {
						return torn, asIn
					}
					c.hi = bytes.Clone(p[npos : npos+nsize])
				}
				stack = append(stack, c)
				continue
			}
			if ne.Uint32(e[0:])&bucketLeaf == 0 {
				continue
			}
			// A bucket: its root(8) and sequence(8), then, for an inline
			// one (root 0), its only page, a leaf, which holds no bucket.
			at := kpos + ksize
			if vsize < 16 {
				return fmt.Sprintf("page %d holds more than fits in it", id), asIn
			}
			if root := ne.Uint64(p[at:]); root != 0 {
				stack = append(stack, walk{id: root})
			} else if vsize < 16+headerSize || ne.Uint16(p[at+16+8:])&leafFlag == 0 {
				return torn, asIn
			}
		}
	}
	return "", ""
}

// notBolt says whether bbolt refused the file as not one of its own, or
// one cut short: its message alone ("invalid database", "file size too
// small 129") says neither what the file is not nor what to put there.
func notBolt(err error) bool {
	return errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) ||
		errors.Is(err, bolterrors.ErrChecksum) ||
		// bbolt has no error value for a file shorter than its two meta
		// pages.
		err != nil && strings.HasPrefix(err.Error(), "file size too small")
}

// openLocked opens the data file with bbolt's lock held on the file that
// has the path's name. The lock is a flock on the open file, not on the
// name: an Open that queued for it while another compacted the file
// (compactFile renames the copy over the name) would otherwise be handed
// the old, unlinked file, and every write it acknowledged would vanish
// with it. Such an Open lets go and queues again, on the file now named,
// within the same timeout.
func openLocked(path string, opts *bolt.Options) (*bolt.DB, error) {
	deadline := time.Now().Add(opts.Timeout)
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, bolterrors.ErrTimeout
		}
		var f *os.File
		o := *opts
		o.Timeout = wait
		o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
			var err error
			f, err = os.OpenFile(name, flag, perm)
			return f, err
		}
		db, err := bolt.Open(path, 0o600, &o)
		if err != nil {
			return nil, err
		}
		same, err := isFileAt(f, path)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		if same {
			return db, nil
		}
		if err := db.Close(); err != nil {
			return nil, err
		}
	}
}

// isFileAt says whether f is the file named path now.
func isFileAt(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	named, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, named), nil
}

func (s *BoltStore) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var v uint64
		if meta := tx.Bucket(bMeta); meta != nil {
			if raw := meta.Get(kSchemaVersion); len(raw) == 8 {
				v = binary.BigEndian.Uint64(raw)
			}
		}
		if v > SchemaVersion {
			// No step goes back down: an operator rolling back a release
			// must be told the two ways that keep their data.
			return fmt.Errorf("schema %d, this version reads up to %d: %w: run the version that wrote it, or a newer one; "+
				"to go back to this version, put back the backup taken before the upgrade (what was written since is lost)",
				v, SchemaVersion, ErrNewerSchema)
		}
		from := v
		for ; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
			s.logger.Info("store schema migrated", zap.Uint64("from", v), zap.Uint64("to", v+1))
		}
		switch {
		case from < keyedSchema:
			// Sealing rebuilds every phone index, phone_token included.
			if err := s.sealExisting(tx); err != nil {
				return fmt.Errorf("seal personal data: %w", err)
			}
		case from < phoneTokenSchema:
			if err := rebuildPhoneIndex(&writeTx{tx: tx}, s.sealer(tx), helpRequests); err != nil {
				return fmt.Errorf("index phone hashes by request: %w", err)
			}
		}
		if err := createAuthLayout(tx); err != nil {
			return fmt.Errorf("auth buckets: %w", err)
		}
		// Made once, at a file's first start on a version that seals
		// page tokens; no schema step: older versions ignore it.
		pages, err := pageTokenKey(tx)
		if err != nil {
			return err
		}
		s.pages = pages
		if from < goneTokensSchema {
			renamed, err := endGoneVolunteerTokens(&writeTx{tx: tx}, s.now())
			if err != nil {
				return fmt.Errorf("end tokens of volunteers gone: %w", err)
			}
			if renamed > 0 {
				// The names taken off are still in the pages the tokens
				// were rewritten from: compact, as after sealing.
				if err := markCompactionDue(tx); err != nil {
					return err
				}
				s.logger.Info("store took volunteers gone off their tokens", zap.Int("tokens", renamed))
			}
		}
		if from < sealedTokenNamesSchema {
			named, err := sealTokenNames(&writeTx{tx: tx}, s.sealer(tx))
			if err != nil {
				return fmt.Errorf("seal names of volunteers' tokens: %w", err)
			}
			if named > 0 {
				// The plain names are still in the pages the tokens were
				// rewritten from, now or when older versions ended their
				// volunteers: compact, as after sealing.
				if err := markCompactionDue(tx); err != nil {
					return err
				}
				s.logger.Info("store sealed the names of volunteers' tokens", zap.Int("tokens", named))
			}
		}
		if from < volunteerTokensSchema {
			n, err := indexVolunteerTokens(&writeTx{tx: tx})
			if err != nil {
				return fmt.Errorf("index tokens by volunteer: %w", err)
			}
			s.logger.Info("store indexed tokens by volunteer", zap.Int("tokens", n))
		}
		if from < phonesTodaySchema {
			requests, vols, err := s.phonesToday(tx, s.sealer(tx))
			if err != nil {
				return fmt.Errorf("give stored numbers today's form: %w", err)
			}
			s.logger.Info("store gave stored numbers today's form", zap.Int("help_requests", requests), zap.Int("volunteers", vols))
		}
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(SchemaVersion))
	})
}

// Close commits the writes already queued and closes the file.
func (s *BoltStore) Close() error {
	s.c.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// view runs a read transaction, telling a closed store by ErrClosed so
// that callers can say "shutting down" rather than "internal error".
func (s *BoltStore) view(fn func(tx *bolt.Tx) error) error {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return closedErr(s.db.View(fn))
}

func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Check runs bbolt's consistency check over the whole file.
func (s *BoltStore) Check() error {
	return s.view(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// Revision is the revision of the last committed write.
func (s *BoltStore) Revision() (uint64, error) {
	var rev uint64
	err := s.view(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bMeta).Get(kRevision); len(raw) == 8 {
			rev = binary.BigEndian.Uint64(raw)
		}
		return nil
	})
	return rev, err
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// bumpRevision is the first write of every change, and so marks it dirty.
func bumpRevision(w *writeTx) (uint64, error) {
	meta := w.tx.Bucket(bMeta)
	var rev uint64
	if raw := meta.Get(kRevision); len(raw) == 8 {
		rev = binary.BigEndian.Uint64(raw)
	}
	rev++
	w.rev, w.seq = rev, 0
	return rev, w.put(meta, kRevision, u64(rev))
}

func etagOf(rev uint64) string { return strconv.FormatUint(rev, 10) }

var marshal = proto.MarshalOptions{Deterministic: true}

// join builds an index key: parts separated by 0x00, which no part holds
// (normalised postcodes, phones and organisation slugs are printable).
func join(parts ...[]byte) []byte {
	return bytes.Join(parts, []byte{0})
}

// index is one entry of a secondary index.
type index struct {
	// in, when set, is the bucket under the parent that holds bucket:
	// a key rotation's phone index for the epoch it moves to (bRotation).
	in     []byte
	bucket []byte
	key    []byte
	value  []byte
}

func (e index) equal(o index) bool {
	return bytes.Equal(e.in, o.in) && bytes.Equal(e.bucket, o.bucket) && bytes.Equal(e.key, o.key) && bytes.Equal(e.value, o.value)
}

// of is the bucket under parent that holds e, or nil.
func (e index) of(parent *bolt.Bucket) *bolt.Bucket {
	if e.in != nil {
		if parent = parent.Bucket(e.in); parent == nil {
			return nil
		}
	}
	return parent.Bucket(e.bucket)
}

// putInOrder puts many entries into parent's buckets in one write, in key
// order. bbolt keeps a write's new entries in one node per page until it
// commits, and an entry put in the middle of a node shifts all after it:
// put in random order (keyed hashes are), n entries cost n² moves, so
// that rebuilding a phone index of 100,000 requests took 13 s, with every
// writer waiting. In order, each is appended.
func putInOrder(parent *bolt.Bucket, entries []index) error {
	slices.SortFunc(entries, func(a, b index) int {
		if c := bytes.Compare(a.in, b.in); c != 0 {
			return c
		}
		if c := bytes.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		return bytes.Compare(a.key, b.key)
	})
	var b *bolt.Bucket
	for i, e := range entries {
		if i == 0 || !bytes.Equal(e.in, entries[i-1].in) || !bytes.Equal(e.bucket, entries[i-1].bucket) {
			if b = e.of(parent); b == nil {
				return fmt.Errorf("put index %s: %w", e.bucket, bolterrors.ErrBucketNotFound)
			}
		}
		if err := b.Put(e.key, e.value); err != nil {
			return fmt.Errorf("put index %s: %w", e.bucket, err)
		}
	}
	return nil
}

func putAll(w *writeTx, parent *bolt.Bucket, entries []index) error {
	for _, e := range entries {
		b := e.of(parent)
		if b == nil {
			return fmt.Errorf("put index %s: %w", e.bucket, bolterrors.ErrBucketNotFound)
		}
		if err := w.put(b, e.key, e.value); err != nil {
			return fmt.Errorf("put index %s: %w", e.bucket, err)
		}
	}
	return nil
}

func deleteAll(w *writeTx, parent *bolt.Bucket, entries []index) error {
	for _, e := range entries {
		b := e.of(parent)
		if b == nil {
			return fmt.Errorf("delete index %s: %w", e.bucket, bolterrors.ErrBucketNotFound)
		}
		if err := w.delete(b, e.key); err != nil {
			return fmt.Errorf("delete index %s: %w", e.bucket, err)
		}
	}
	return nil
}

// idempotency keys are scoped by what they create.
const (
	kindHelpRequest = "help_request"
	kindVolunteer   = "volunteer"
	kindOffer       = "offer"
)

// idempotencyKey is kind 0x00 request_id, with the scope and a "/"
// before the request id when there is one (a request id is a UUID, so
// never holds a "/"). The id is keyed in lower case: a UUID is one UUID in
// either case, and a retry may send back in capitals what the first call
// sent in small letters, or the other way round.
func idempotencyKey(kind string, idem Idempotency) []byte {
	id := strings.ToLower(idem.RequestID)
	if idem.Scope != "" {
		id = idem.Scope + "/" + id
	}
	return join([]byte(kind), []byte(id))
}

// lookupIdempotency returns the id recorded for a request id, if any.
func lookupIdempotency(tx *bolt.Tx, kind string, idem Idempotency) ([]byte, bool, error) {
	raw := tx.Bucket(bIdempotency).Get(idempotencyKey(kind, idem))
	if raw == nil {
		return nil, false, nil
	}
	if len(raw) != 16+32 {
		return nil, false, fmt.Errorf("idempotency record of %d bytes", len(raw))
	}
	if !bytes.Equal(raw[16:], idem.Fingerprint[:]) {
		return nil, false, ErrRequestIDReused
	}
	return bytes.Clone(raw[:16]), true, nil
}

func recordIdempotency(w *writeTx, kind string, idem Idempotency, id []byte) error {
	v := make([]byte, 0, 48)
	v = append(append(v, id...), idem.Fingerprint[:]...)
	return w.put(w.tx.Bucket(bIdempotency), idempotencyKey(kind, idem), v)
}

// getProto reads key from b into m. The bytes are decoded inside the
// transaction, and decoding copies, so m stays valid after it ends.
func getProto(b *bolt.Bucket, key []byte, m proto.Message) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := pb.UnmarshalTrusted(raw, m); err != nil {
		return false, fmt.Errorf("decode %T: %w", m, err)
	}
	return true, nil
}

func putProto(w *writeTx, b *bolt.Bucket, key []byte, m proto.Message) error {
	raw, err := marshal.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %T: %w", m, err)
	}
	return w.put(b, key, raw)
}

func idFromName(name, prefix string) ([]byte, error) {
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return nil, ErrNotFound
	}
	id, err := ParseID(name[len(prefix):])
	if err != nil {
		return nil, ErrNotFound
	}
	return id, nil
}

// LookupPostcode returns a normalised postcode's centre.
func (s *BoltStore) LookupPostcode(_ context.Context, postcode string) (LatLng, error) {
	var at LatLng
	err := s.view(func(tx *bolt.Tx) error {
		var ok bool
		if at, ok = postcodeCentre(tx, postcode); !ok {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return LatLng{}, fmt.Errorf("store: lookup postcode: %w", err)
	}
	return at, nil
}

// postcodeCentre reads a postcode's centre. One stored at 0, 0 reads as
// not known: a directory marking a postcode without a grid reference so,
// loaded by a version that took it, left it there, and no later load
// replaces it (geo.ReadONSPD now skips such rows). Its centre would put
// every record given that postcode off Africa, out of matching's reach.
func postcodeCentre(tx *bolt.Tx, postcode string) (LatLng, bool) {
	raw := tx.Bucket(bPostcodes).Get([]byte(postcode))
	if len(raw) != 16 {
		return LatLng{}, false
	}
	at := LatLng{
		Lat: math.Float64frombits(binary.BigEndian.Uint64(raw[:8])),
		Lng: math.Float64frombits(binary.BigEndian.Uint64(raw[8:])),
	}
	return at, !geo.NullIsland(at.Lat, at.Lng)
}

// postcodeChunk bounds one load transaction: big enough to amortise the
// fsync, small enough not to hold up other writes for long.
const postcodeChunk = 20000

// LoadPostcodes writes gazetteer updates in chunks of their own
// transactions; a load that fails part-way leaves the chunks before it, and
// a rerun of the same file converges. Until a load that has begun ends, the
// store says so (GazetteerLoadUnfinished), through a crash too.
func (s *BoltStore) LoadPostcodes(ctx context.Context, next func() (PostcodeUpdate, bool, error)) (PostcodeLoadStats, error) {
	var st PostcodeLoadStats
	chunk := make([]PostcodeUpdate, 0, postcodeChunk)
	begun := false // a chunk committed, and with it kGazetteerLoading
	flush := func(last bool) error {
		if len(chunk) == 0 && !(last && begun) {
			return nil
		}
		stored, removed := 0, 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bMeta)
			if err := meta.Put(kGazetteerLoading, []byte{1}); err != nil {
				return err
			}
			if last {
				if err := meta.Delete(kGazetteerLoading); err != nil {
					return err
				}
			}
			b := tx.Bucket(bPostcodes)
			for _, u := range chunk {
				if u.Remove {
					if b.Get([]byte(u.Postcode)) == nil {
						continue
					}
					if err := b.Delete([]byte(u.Postcode)); err != nil {
						return err
					}
					removed++
					continue
				}
				v := make([]byte, 16)
				binary.BigEndian.PutUint64(v[:8], math.Float64bits(u.At.Lat))
				binary.BigEndian.PutUint64(v[8:], math.Float64bits(u.At.Lng))
				if err := b.Put([]byte(u.Postcode), v); err != nil {
					return err
				}
				stored++
			}
			return nil
		})
		chunk = chunk[:0]
		if err != nil {
			return closedErr(err)
		}
		st.Stored += stored // counted only once committed
		st.Removed += removed
		begun = true
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("store: load postcodes: %w", err)
		}
		u, ok, err := next()
		if err != nil {
			return st, fmt.Errorf("store: load postcodes: %w", err)
		}
		if !ok {
			break
		}
		chunk = append(chunk, u)
		if len(chunk) == postcodeChunk {
			if err := flush(false); err != nil {
				return st, fmt.Errorf("store: load postcodes: %w", err)
			}
		}
	}
	if err := flush(true); err != nil {
		return st, fmt.Errorf("store: load postcodes: %w", err)
	}
	return st, nil
}

// GazetteerLoadUnfinished says whether the last gazetteer load stopped
// part-way (an error, a signal, a crash): postcodes after where it stopped
// are missing or out of date until the file is loaded again.
func (s *BoltStore) GazetteerLoadUnfinished(_ context.Context) (bool, error) {
	var unfinished bool
	err := s.view(func(tx *bolt.Tx) error {
		unfinished = tx.Bucket(bMeta).Get(kGazetteerLoading) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: gazetteer load unfinished: %w", err)
	}
	return unfinished, nil
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// markCompactionDue has every Open compact the file until a compacted copy
// replaces it (kCompactionDue).
func markCompactionDue(tx *bolt.Tx) error {
	if err := tx.Bucket(bMeta).Put(kCompactionDue, []byte{1}); err != nil {
		return fmt.Errorf("mark compaction due: %w", err)
	}
	return nil
}
