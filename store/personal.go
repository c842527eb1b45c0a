package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Personal data at rest: see "Personal data" in the package doc.

var (
	bKeys        = []byte("keys")
	kKeyringID   = []byte("keyring_id")
	kKeyEpoch    = []byte("key_epoch")
	kRotationDue = []byte("key_rotation_due")
	// kKeyRotating is epoch(4) due, the epoch a key rotation under way
	// moves to (rotateKeys) and key_rotation_due as it was when the
	// rotation began. While it is set, new data keys are wrapped under
	// it and every write keeps, besides the phone indexes under
	// key_epoch that reads use, the same indexes under it in bRotation.
	kKeyRotating = []byte("key_rotating")
	// bRotation, under each collection's bucket while a rotation is under
	// way, holds its phone index buckets (phoneBuckets) under the epoch
	// the rotation moves to; the rotation's last transaction moves them
	// over those in use.
	bRotation = []byte("key_rotation")
	// kCompactionDue is set by the migrations that sealed plain personal
	// data, or took names off tokens or sealed them (versions 4, 9 and
	// 10), in their own transaction, and is absent from the compacted
	// copy: while it is
	// there the freed pages may still hold the plain values, so every
	// Open compacts until a copy without them replaces the file.
	kCompactionDue = []byte("compaction_due")
)

// keyedSchema is the first schema version that seals personal data.
const keyedSchema = 4

// createLayoutV4 adds the data keys. Sealing the records already stored
// needs the keyring, so migrate does it (sealExisting) in the same
// transaction.
func createLayoutV4(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists(bKeys)
	return err
}

// sealer seals and opens personal data within one transaction, under the
// epoch the data file names. While a rotation is under way (next), new
// data keys are wrapped under the epoch it moves to, and phone index
// entries are made under both: the rotation re-wraps the keys made
// before it, a chunk at a time, and no key is left under an epoch about
// to be destroyed.
type sealer struct {
	ring  *keyring
	keys  *bolt.Bucket
	epoch uint32
	cur   *epochKeys
	err   error // why the data file's epoch cannot be used
	// next is the epoch a rotation under way moves to (kKeyRotating), or
	// nil.
	next      *epochKeys
	nextEpoch uint32
	// asStored keys the phone index by a number exactly as given, not by
	// its form today: the entries versions before schema 14 made, which
	// its step takes off (phonesToday).
	asStored bool
}

// stored is sl keying the phone index by a number as given (asStored).
func (sl *sealer) stored() *sealer {
	c := *sl
	c.asStored = true
	return &c
}

// token is the phone index key of number under ek: the keyed hash of its
// form today (phone.Today), so that a number stored in two forms, or
// looked up by either, is one person's wherever the index is read (their
// requests, erasure, export, continuity, their own request as a
// volunteer), and a writer giving the older form cannot split them.
func (sl *sealer) token(ek *epochKeys, number string) []byte {
	if !sl.asStored {
		number = phone.Today(number)
	}
	return phoneToken(ek, number)
}

func (s *BoltStore) sealer(tx *bolt.Tx) *sealer {
	sl := &sealer{ring: s.ring.Load(), keys: tx.Bucket(bKeys)}
	raw := tx.Bucket(bMeta).Get(kKeyEpoch)
	switch {
	case sl.ring == nil || sl.keys == nil || len(raw) != 4:
		sl.err = fmt.Errorf("no key epoch: %w", errInconsistent)
	default:
		sl.epoch = binary.BigEndian.Uint32(raw)
		if sl.cur = sl.ring.epochs[sl.epoch]; sl.cur == nil {
			sl.err = fmt.Errorf("epoch %d: %w", sl.epoch, errKeyEpochUnknown)
		}
		// A rotation under an epoch the key file lacks (an older version
		// opened the file part-way and rotated in its own way) is
		// abandoned: settleKeys starts another.
		if raw := tx.Bucket(bMeta).Get(kKeyRotating); len(raw) >= 4 {
			if e := binary.BigEndian.Uint32(raw); e != sl.epoch && sl.ring.epochs[e] != nil {
				sl.next, sl.nextEpoch = sl.ring.epochs[e], e
			}
		}
	}
	return sl
}

// dataKey returns a record's data key, or nil if it has none.
func (sl *sealer) dataKey(id []byte) ([]byte, error) {
	if sl.err != nil {
		return nil, sl.err
	}
	wrapped := sl.keys.Get(id)
	if wrapped == nil {
		return nil, nil
	}
	return sl.ring.unwrap(id, wrapped)
}

// ensureDataKey returns a record's data key, making one if it has none.
func (sl *sealer) ensureDataKey(w *writeTx, id []byte) ([]byte, error) {
	dk, err := sl.dataKey(id)
	if err != nil || dk != nil {
		return dk, err
	}
	dk = make([]byte, keySize)
	if _, err := rand.Read(dk); err != nil {
		return nil, err
	}
	ek, epoch := sl.cur, sl.epoch
	if sl.next != nil {
		ek, epoch = sl.next, sl.nextEpoch // the rotation under way need not re-wrap it
	}
	wrapped, err := wrap(ek, epoch, id, dk)
	if err != nil {
		return nil, err
	}
	return dk, w.put(sl.keys, id, wrapped)
}

// phoneIndex is the by_phone entry for a phone number: its keyed hash,
// so that the file holds no phone number in the clear. While a rotation
// is under way, the entry under the epoch it moves to comes too.
func (sl *sealer) phoneIndex(phone string, id []byte) []index {
	if phone == "" || sl.cur == nil {
		return nil
	}
	out := []index{{bucket: bByPhone, key: join(sl.token(sl.cur, phone), id)}}
	if sl.next != nil {
		out = append(out, index{in: bRotation, bucket: bByPhone, key: join(sl.token(sl.next, phone), id)})
	}
	return out
}

// requesterIndex is a request's by_phone entry and, under phone_token, the
// same hash by the request's id: matching reads it to find the requester's
// earlier requests (previousHelpers) without opening the sealed contact.
// It holds nothing by_phone does not.
func (sl *sealer) requesterIndex(phone string, id []byte) []index {
	if phone == "" || sl.cur == nil {
		return nil
	}
	tok := sl.token(sl.cur, phone)
	out := []index{{bucket: bByPhone, key: join(tok, id)}, {bucket: bPhoneToken, key: id, value: tok}}
	if sl.next != nil {
		next := sl.token(sl.next, phone)
		out = append(out, index{in: bRotation, bucket: bByPhone, key: join(next, id)}, index{in: bRotation, bucket: bPhoneToken, key: id, value: next})
	}
	return out
}

// phonePrefix is where a phone number's entries start in by_phone.
func (sl *sealer) phonePrefix(phone string) ([]byte, error) {
	if sl.err != nil {
		return nil, sl.err
	}
	return join(sl.token(sl.cur, phone), nil), nil
}

// idsByPhone lists the ids under a phone number in a collection's by_phone.
func (sl *sealer) idsByPhone(top *bolt.Bucket, phone string) ([][]byte, error) {
	prefix, err := sl.phonePrefix(phone)
	if err != nil {
		return nil, err
	}
	return idsUnder(top.Bucket(bByPhone), prefix), nil
}

// idsUnder lists the ids that follow prefix in an index's keys.
func idsUnder(b *bolt.Bucket, prefix []byte) [][]byte {
	var ids [][]byte
	cur := b.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		ids = append(ids, bytes.Clone(k[len(prefix):]))
	}
	return ids
}

// openPersonal decrypts a record's sealed personal data: a record of the
// collection's type holding only its personal fields and contact.
func openPersonal[T proto.Message](sl *sealer, col *collection[T], id, sealed []byte) (T, error) {
	var zero T
	dk, err := sl.dataKey(id)
	if err != nil {
		return zero, err
	}
	return openPersonalWith(col, dk, id, sealed)
}

// openPersonalWith is openPersonal with the record's data key at hand.
func openPersonalWith[T proto.Message](col *collection[T], dk, id, sealed []byte) (T, error) {
	var zero T
	if dk == nil {
		return zero, fmt.Errorf("%s %s has sealed data but no data key: %w", col.noun, idString(id), errInconsistent)
	}
	plain, err := unseal(dk, id, sealed)
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", col.noun, idString(id), err)
	}
	p := col.newRec()
	if err := pb.UnmarshalTrusted(plain, p); err != nil {
		return zero, fmt.Errorf("decode sealed %T: %w", p, err)
	}
	return p, nil
}

// sealPersonal stores p, a record holding only personal fields, sealed
// under the record's data key.
func sealPersonal[T proto.Message](w *writeTx, sl *sealer, top *bolt.Bucket, id []byte, p T) error {
	dk, err := sl.ensureDataKey(w, id)
	if err != nil {
		return err
	}
	plain, err := marshal.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode %T: %w", p, err)
	}
	sealed, err := seal(dk, id, plain)
	if err != nil {
		return err
	}
	return w.put(top.Bucket(bContacts), id, sealed)
}

// dropPersonal deletes a record's sealed personal data and its data key.
func dropPersonal(w *writeTx, top *bolt.Bucket, id []byte) error {
	if err := w.delete(top.Bucket(bContacts), id); err != nil {
		return err
	}
	return w.delete(w.tx.Bucket(bKeys), id)
}

// ---------------------------------------------------------------------------
// Opening: the key file, the migration, and finishing what a crash left.

// openKeys loads the key file, or makes one for a data file that holds no
// encrypted data yet. It runs before migrate, so that the keys exist on
// disk before anything sealed under them is committed.
func (s *BoltStore) openKeys(path string) error {
	var version uint64
	var ringID []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bMeta); meta != nil {
			if raw := meta.Get(kSchemaVersion); len(raw) == 8 {
				version = binary.BigEndian.Uint64(raw)
			}
			ringID = bytes.Clone(meta.Get(kKeyringID))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if version > SchemaVersion {
		return nil // migrate refuses the file without touching anything
	}
	if err := removeStaleTemp(path); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	ring, err := readKeyFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if ringID != nil || version >= keyedSchema {
			// A fresh machine given the data file alone meets this: the
			// cure is the file, which no new keyring stands in for.
			return fmt.Errorf("%s: %w: put back the key file saved with the data file "+
				"(a backup's, beside its doorstep.db); without it no personal data in the file can be read", path, ErrKeyFileMissing)
		}
		if ring, err = newKeyring(); err != nil {
			return fmt.Errorf("new keyring: %w", err)
		}
		if err := writeKeyFile(path, ring); err != nil {
			return fmt.Errorf("write key file: %w", err)
		}
		s.logger.Info("store key file created")
	case err != nil:
		return fmt.Errorf("read key file %s: %w", path, err)
	case ringID != nil && !sameKeyring(ring, ringID):
		return fmt.Errorf("%s: %w (another store's?): put back the key file saved with the data file "+
			"(a backup's, beside its doorstep.db)", path, ErrKeyFileMismatch)
	default:
		if err := checkKeyFileReplaceable(path); err != nil {
			return err
		}
		// Before a write sealed under its keys is acknowledged: a key file
		// put back from a backup, by a copy, may not be on disk yet.
		if err := syncPutBack(path); err != nil {
			return fmt.Errorf("sync key file %s: %w", path, err)
		}
	}
	s.keyPath = path
	s.ring.Store(ring)
	return nil
}

// checkKeyFileReplaceable refuses a key file whose directory will not take
// the temporary file its rewrite is written to: every erasure, deletion
// and purge rewrites it without the old epoch, and found only then (files
// restored as another user, a read-only mount), each would fail after its
// erasure committed and was answered as done, leaving the erased data's
// old keys in the key file for as long as the server ran. A full disk is
// let through: the rewrite is tried again once room is made.
func checkKeyFileReplaceable(path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("key file %s: its directory, %s, takes no new file (%w): an erasure or deletion rewrites the key file there, "+
			"so that the erased data's old keys are destroyed; give the server's user write access to it (files restored as another user?)",
			path, filepath.Dir(path), err)
	}
	if err != nil {
		return nil
	}
	err = f.Close()
	if rerr := os.Remove(tmp); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("key file %s: try its rewrite: %w", path, err)
	}
	return nil
}

// sealExisting runs in the migration from a version before keyedSchema:
// it names the keyring in the file, seals every record's personal data
// that is still in the clear and rebuilds the phone indexes as hashes. A
// record that already has a data key is left as it is, so a file whose
// version was rolled back is not sealed twice.
func (s *BoltStore) sealExisting(tx *bolt.Tx) error {
	w := &writeTx{tx: tx}
	meta := tx.Bucket(bMeta)
	ring := s.ring.Load()
	if meta.Get(kKeyringID) == nil {
		if err := w.put(meta, kKeyringID, ring.id[:]); err != nil {
			return err
		}
	}
	if len(meta.Get(kKeyEpoch)) != 4 {
		if err := w.put(meta, kKeyEpoch, binary.BigEndian.AppendUint32(nil, ring.latest())); err != nil {
			return err
		}
	}
	sl := s.sealer(tx)
	n, err := sealPlain(w, sl, helpRequests)
	if err != nil {
		return err
	}
	m, err := sealPlain(w, sl, volunteers)
	if err != nil {
		return err
	}
	if n+m > 0 {
		if err := w.put(meta, kCompactionDue, []byte{1}); err != nil {
			return err
		}
	}
	if err := rebuildPhoneIndex(w, sl, helpRequests); err != nil {
		return err
	}
	return rebuildPhoneIndex(w, sl, volunteers)
}

// sealPlain seals the records of a collection that have no data key, and
// returns how many it sealed.
func sealPlain[T proto.Message](w *writeTx, sl *sealer, col *collection[T]) (int, error) {
	top := w.tx.Bucket(col.bucket)
	records, contacts := top.Bucket(bRecords), top.Bucket(bContacts)
	var ids [][]byte
	err := records.ForEach(func(k, _ []byte) error {
		if sl.keys.Get(k) == nil {
			ids = append(ids, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		r := col.newRec()
		if _, err := getProto(records, id, r); err != nil {
			return 0, err
		}
		if col.removed(r) {
			if err := dropPersonal(w, top, id); err != nil {
				return 0, err
			}
			continue
		}
		c := &pb.Contact{}
		if _, err := getProto(contacts, id, c); err != nil {
			return 0, err
		}
		p, err := col.putRecord(w, top, id, r)
		if err != nil {
			return 0, err
		}
		col.setContact(p, c)
		if err := sealPersonal(w, sl, top, id, p); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// compactionDue says whether the file still needs the compaction that
// sealing plain data calls for (kCompactionDue).
func compactionDue(db *bolt.DB) (bool, error) {
	var due bool
	err := db.View(func(tx *bolt.Tx) error {
		due = tx.Bucket(bMeta).Get(kCompactionDue) != nil
		return nil
	})
	return due, err
}

// compactFile rewrites the data file with only its live data, after the
// migration sealed what was in the clear: the old plain values are still
// in the pages that migration freed, and bbolt may not reuse them for a
// long time. The copy, with kCompactionDue cleared, is complete and synced
// before it replaces the file, so a crash leaves one file or the other,
// and the other is still a valid migrated file that the next Open
// compacts again. It returns the open copy, or the file as it was (or nil)
// with an error.
func compactFile(path string, db *bolt.DB, opts *bolt.Options) (*bolt.DB, error) {
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return db, fmt.Errorf("remove stale copy: %w", err)
	}
	// The copy is opened, and so locked, before it takes the name, and
	// stays open as the store's file: no other Open can lock it in between
	// (one waiting on the old file lets go when it sees the name moved,
	// openLocked).
	dst, err := bolt.Open(tmp, 0o600, opts)
	if err != nil {
		return db, err
	}
	fail := func(err error) (*bolt.DB, error) {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return db, err
	}
	if err := bolt.Compact(dst, db, 8<<20); err != nil {
		return fail(err)
	}
	err = dst.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Delete(kCompactionDue) })
	if err != nil {
		return fail(fmt.Errorf("clear compaction_due: %w", err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		_ = dst.Close()
		return db, err
	}
	if err := db.Close(); err != nil {
		_ = dst.Close()
		return nil, err
	}
	return dst, nil
}

// rebuildPhoneIndex rewrites a collection's phone index buckets
// (col.phoneBuckets) from the sealed contacts under the sealer's epoch.
// Deleting a bucket drops every old entry at once, whatever key made it.
func rebuildPhoneIndex[T proto.Message](w *writeTx, sl *sealer, col *collection[T]) error {
	top := w.tx.Bucket(col.bucket)
	w.dirty = true
	for _, b := range col.phoneBuckets {
		if err := top.DeleteBucket(b); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		if _, err := top.CreateBucket(b); err != nil {
			return err
		}
	}
	packAppends(w.tx) // the new phone_token, refilled in id order
	var entries []index
	err := top.Bucket(bContacts).ForEach(func(id, sealed []byte) error {
		p, err := openPersonal(sl, col, id, sealed)
		if err != nil {
			return err
		}
		entries = append(entries, col.phoneIndex(sl, col.takeContact(p).GetPhone(), id)...)
		return nil
	})
	if err != nil {
		return err
	}
	return putInOrder(top, entries)
}

// settleKeys runs at the end of Open: it checks that the key file can
// open every data key, finishes a rotation that a crash interrupted, and
// otherwise drops epochs nothing is wrapped under (left by a crash after
// a rotation committed).
func (s *BoltStore) settleKeys() error {
	var due bool
	var used map[uint32]bool
	err := s.view(func(tx *bolt.Tx) (err error) {
		meta := tx.Bucket(bMeta)
		due = meta.Get(kRotationDue) != nil || meta.Get(kKeyRotating) != nil
		used, err = epochsInUse(tx)
		return err
	})
	if err != nil {
		return err
	}
	ring := s.ring.Load()
	for e := range used {
		if ring.epochs[e] == nil {
			return s.epochMissing(e)
		}
	}
	if due {
		s.logger.Info("store finishing an interrupted key rotation")
		return s.rotateKeys()
	}
	if len(used) == len(ring.epochs) {
		return nil
	}
	return s.replaceKeyring(ring.only(used))
}

// epochMissing refuses a key file that lacks an epoch the data file uses.
// The file is this store's (its id matched), so it is from another moment:
// a backup of one put back without the other, across a rotation that an
// erasure, purge or deletion made. The operator must know which file, and
// that the one saved with the data file is the cure.
func (s *BoltStore) epochMissing(e uint32) error {
	return fmt.Errorf("%s lacks key epoch %d, which the data file uses: the key file is older or newer than the data file "+
		"(one restored from a backup without the other?); put back the key file saved with the data file: %w", s.keyPath, e, ErrKeyFileMismatch)
}

// epochsInUse are the file's key epoch and those its data keys are wrapped
// under.
func epochsInUse(tx *bolt.Tx) (map[uint32]bool, error) {
	used := map[uint32]bool{}
	if raw := tx.Bucket(bMeta).Get(kKeyEpoch); len(raw) == 4 {
		used[binary.BigEndian.Uint32(raw)] = true
	}
	return used, tx.Bucket(bKeys).ForEach(func(_, v []byte) error {
		if len(v) != wrappedSize {
			return fmt.Errorf("wrapped data key of %d bytes: %w", len(v), errInconsistent)
		}
		used[binary.BigEndian.Uint32(v)] = true
		return nil
	})
}

// dropUnusedEpochs rewrites the key file without the epochs nothing uses,
// when no rotation is under way: those a rotation left when its last step,
// the key file rewritten without the old epoch, failed (a full disk). Its
// last transaction had cleared the rotation due, so nothing else would try
// again before the next Open, and the old master key, which opens the
// stale copies of the data keys an erasure deleted, stayed in the file.
// The keyring rarely holds more than one epoch, so the data keys are read
// only then.
func (s *BoltStore) dropUnusedEpochs() error {
	s.rotateMu.Lock() // a rotation's new epoch is unused until its first chunk
	defer s.rotateMu.Unlock()
	ring := s.ring.Load()
	if len(ring.epochs) < 2 {
		return nil
	}
	var used map[uint32]bool
	err := s.view(func(tx *bolt.Tx) (err error) {
		if tx.Bucket(bMeta).Get(kKeyRotating) != nil {
			return nil // its next attempt ends with the rewrite
		}
		used, err = epochsInUse(tx)
		return err
	})
	if err != nil || used == nil || len(used) == len(ring.epochs) {
		return err
	}
	for e := range used {
		if ring.epochs[e] == nil {
			return s.epochMissing(e)
		}
	}
	return s.replaceKeyring(ring.only(used))
}

// replaceKeyring writes a keyring with fewer epochs and then makes it the
// one in use. The lock waits out readers that may still hold data wrapped
// under a dropped epoch.
func (s *BoltStore) replaceKeyring(r *keyring) error {
	if err := writeKeyFile(s.keyPath, r); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	s.keyMu.Lock()
	s.ring.Store(r)
	s.keyMu.Unlock()
	return nil
}

// rotateChunk bounds the data keys one transaction of a rotation re-wraps
// (a variable only so that tests can lower it). Each costs about 12-20 µs
// (its contact opened, its phone hashed, both written), so a chunk holds
// other writes up for a few tenths of a second at most; one transaction
// over a million volunteers held them up for 14 s.
var rotateChunk = 10_000

// rotateKeys replaces the key epoch: a new epoch is added to the key file,
// transactions of rotateChunk re-wrap every data key under it, in id
// order, and fill the phone indexes under it beside those in use (which
// every write meanwhile keeps under both epochs, see sealer), the last
// one puts them in place of the old, and then the old epochs are deleted
// from the key file. Until that last step the old epoch still opens what
// it wrapped, including the stale copies in bbolt's free pages; after
// it, nothing does.
//
// A crash before the last transaction commits leaves key_rotation_due
// and key_rotating set, and Open takes the rotation up where it stopped,
// under the same epoch (keys under it are done); a crash after it leaves
// an unused epoch in the key file, which Open drops.
func (s *BoltStore) rotateKeys() error {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	resumed, err := s.rotateOnce()
	if err != nil || !resumed {
		return err
	}
	// The rotation just finished began before a crash, and the erasure
	// or deletion that left it due again may have come after its chunk
	// had re-wrapped the key it deleted: one more, begun now.
	var due bool
	if err := s.view(func(tx *bolt.Tx) error {
		due = tx.Bucket(bMeta).Get(kRotationDue) != nil
		return nil
	}); err != nil || !due {
		return err
	}
	_, err = s.rotateOnce()
	return err
}

// rotateOnce is one rotation, a new one or the one a crash cut short, and
// says which.
func (s *BoltStore) rotateOnce() (resumed bool, err error) {
	var epoch uint32
	err = s.view(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bMeta).Get(kKeyRotating); len(raw) >= 4 {
			epoch = binary.BigEndian.Uint32(raw)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read rotation under way: %w", err)
	}
	resumed = s.ring.Load().epochs[epoch] != nil
	if !resumed {
		old := s.ring.Load()
		ek, err := newEpochKeys()
		if err != nil {
			return false, err
		}
		epoch = old.latest() + 1
		next := old.with(epoch, ek)
		if err := writeKeyFile(s.keyPath, next); err != nil {
			return false, fmt.Errorf("write key file: %w", err)
		}
		s.ring.Store(next)
	}
	// A context of its own: the rotation must finish even if the caller
	// stops waiting, and it is the store's housekeeping, not a second
	// write to audit under the caller's audit records.
	var from []byte
	for first := true; ; first = false {
		var done bool
		var last []byte
		err := s.c.do(context.Background(), func(w *writeTx) (err error) {
			if first {
				if err := beginRotation(w, epoch); err != nil {
					return err
				}
			}
			last, done, err = rekeyChunk(w, s.ring.Load(), epoch, from)
			return err
		})
		if err != nil {
			return resumed, err
		}
		if done {
			break
		}
		from = last
	}
	// A transaction of its own, not the committer's: bbolt moves a bucket
	// as it was when the transaction began, and a write batched before
	// the move would be lost with what it put under the new epoch.
	err = s.db.Update(func(tx *bolt.Tx) error { return endRotation(&writeTx{tx: tx}, epoch) })
	if err != nil {
		return resumed, fmt.Errorf("end rotation: %w", err)
	}
	if err := s.replaceKeyring(s.ring.Load().only(map[uint32]bool{epoch: true})); err != nil {
		return resumed, err
	}
	s.logger.Info("store key epoch rotated", zap.Uint32("epoch", epoch))
	return resumed, nil
}

// beginRotation marks a rotation to epoch under way, with empty phone
// indexes under it, unless it is under way already (a crash cut it
// short).
func beginRotation(w *writeTx, epoch uint32) error {
	meta := w.tx.Bucket(bMeta)
	if raw := meta.Get(kKeyRotating); len(raw) >= 4 && binary.BigEndian.Uint32(raw) == epoch {
		return nil
	}
	w.dirty = true
	for _, col := range [][]byte{bHelpRequests, bVolunteers} {
		top := w.tx.Bucket(col)
		// Left by a rotation under an epoch since lost: made afresh.
		if err := top.DeleteBucket(bRotation); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		b, err := top.CreateBucket(bRotation)
		if err != nil {
			return err
		}
		if _, err := b.CreateBucket(bByPhone); err != nil {
			return err
		}
		if bytes.Equal(col, bHelpRequests) {
			if _, err := b.CreateBucket(bPhoneToken); err != nil {
				return err
			}
		}
	}
	packAppends(w.tx) // phone_token, filled in id order
	v := binary.BigEndian.AppendUint32(nil, epoch)
	return meta.Put(kKeyRotating, append(v, meta.Get(kRotationDue)...))
}

// rekeyChunk re-wraps under epoch up to rotateChunk data keys after from
// (all keys when from is nil), in id order, and puts the phone index
// entries of their records under it. Keys under epoch already are done:
// wrapped in an earlier chunk, or since the rotation began, and their
// entries were put with them. It returns the last key it looked at, and
// whether it reached the end.
func rekeyChunk(w *writeTx, ring *keyring, epoch uint32, from []byte) (last []byte, done bool, err error) {
	w.dirty = true
	ek := ring.epochs[epoch]
	if ek == nil {
		return nil, false, fmt.Errorf("epoch %d: %w", epoch, errKeyEpochUnknown)
	}
	keys := w.tx.Bucket(bKeys)
	type entry struct{ id, dk []byte }
	var todo []entry
	cur := keys.Cursor()
	k, v := cur.First()
	if from != nil {
		if k, v = cur.Seek(from); bytes.Equal(k, from) {
			k, v = cur.Next()
		}
	}
	for ; k != nil && len(todo) < rotateChunk; k, v = cur.Next() {
		last = bytes.Clone(k)
		if len(v) == wrappedSize && binary.BigEndian.Uint32(v) == epoch {
			continue
		}
		dk, err := ring.unwrap(k, v)
		if err != nil {
			return nil, false, fmt.Errorf("key of %s: %w", idString(k), err)
		}
		todo = append(todo, entry{last, dk})
	}
	done = k == nil
	// Only the new epoch's entries: phoneIndex also makes those under
	// the epoch in use, which are in place.
	nsl := &sealer{ring: ring, keys: keys, epoch: epoch, cur: ek}
	hrTop, volTop := w.tx.Bucket(bHelpRequests), w.tx.Bucket(bVolunteers)
	var hrEntries, volEntries []index
	for _, e := range todo {
		wrapped, err := wrap(ek, epoch, e.id, e.dk)
		if err != nil {
			return nil, false, err
		}
		if err := keys.Put(e.id, wrapped); err != nil {
			return nil, false, err
		}
		if sealed := hrTop.Bucket(bContacts).Get(e.id); sealed != nil {
			if hrEntries, err = stagePhone(hrEntries, nsl, helpRequests, e.id, e.dk, sealed); err != nil {
				return nil, false, err
			}
		} else if sealed := volTop.Bucket(bContacts).Get(e.id); sealed != nil {
			if volEntries, err = stagePhone(volEntries, nsl, volunteers, e.id, e.dk, sealed); err != nil {
				return nil, false, err
			}
		}
	}
	if err := putInOrder(hrTop, hrEntries); err != nil {
		return nil, false, err
	}
	return last, done, putInOrder(volTop, volEntries)
}

// stagePhone appends to entries the phone index entries of a record,
// under the sealer's epoch, in bRotation.
func stagePhone[T proto.Message](entries []index, sl *sealer, col *collection[T], id, dk, sealed []byte) ([]index, error) {
	p, err := openPersonalWith(col, dk, id, sealed)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", col.noun, idString(id), err)
	}
	for _, e := range col.phoneIndex(sl, col.takeContact(p).GetPhone(), id) {
		e.in = bRotation
		entries = append(entries, e)
	}
	return entries, nil
}

// endRotation puts the phone indexes under epoch in place of those in use
// and makes epoch the data file's. key_rotation_due is cleared only if no
// erasure or deletion marked it again since the rotation began: a key
// deleted after its chunk was re-wrapped left a copy under epoch in a
// free page, which another rotation must undo.
func endRotation(w *writeTx, epoch uint32) error {
	for _, col := range [][]byte{bHelpRequests, bVolunteers} {
		top := w.tx.Bucket(col)
		staged := top.Bucket(bRotation)
		if staged == nil {
			return fmt.Errorf("%s: no phone index under the new epoch: %w", col, errInconsistent)
		}
		var subs [][]byte
		if err := staged.ForEachBucket(func(k []byte) error {
			subs = append(subs, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, sub := range subs {
			if err := top.DeleteBucket(sub); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
			if err := w.tx.MoveBucket(sub, staged, top); err != nil {
				return fmt.Errorf("move %s: %w", sub, err)
			}
		}
		if err := top.DeleteBucket(bRotation); err != nil {
			return err
		}
	}
	packAppends(w.tx) // the phone_token moved in is a bucket new to this transaction
	meta := w.tx.Bucket(bMeta)
	raw := meta.Get(kKeyRotating)
	if len(raw) < 4 || binary.BigEndian.Uint32(raw) != epoch {
		return fmt.Errorf("rotation to epoch %d not under way: %w", epoch, errInconsistent)
	}
	dueAtStart := bytes.Clone(raw[4:])
	if err := meta.Put(kKeyEpoch, binary.BigEndian.AppendUint32(nil, epoch)); err != nil {
		return err
	}
	if err := meta.Delete(kKeyRotating); err != nil {
		return err
	}
	if due := meta.Get(kRotationDue); due != nil && bytes.Equal(due, dueAtStart) {
		return meta.Delete(kRotationDue)
	}
	return nil
}

// markRotationDue sets key_rotation_due to a value other than the one it
// had (a count), so that a rotation under way can tell that it was set
// again while it ran (endRotation).
func markRotationDue(w *writeTx) error {
	meta := w.tx.Bucket(bMeta)
	var n uint64
	if raw := meta.Get(kRotationDue); len(raw) == 8 {
		n = binary.BigEndian.Uint64(raw)
	}
	return w.put(meta, kRotationDue, binary.BigEndian.AppendUint64(nil, n+1))
}

// ---------------------------------------------------------------------------
// Erasure, export and retention.

// ErasureResult is what ErasePerson erased.
type ErasureResult struct {
	// HelpRequests are the requests whose personal data was removed, as
	// stored after (for the server's matching index).
	HelpRequests []*pb.HelpRequest
	// Volunteers names the volunteer records deleted.
	Volunteers []string
}

// PersonExport is everything held about one phone number.
type PersonExport struct {
	HelpRequests []*pb.HelpRequest
	Volunteers   []*pb.Volunteer
	// Offers are the offers of those requests and to those volunteers.
	Offers []*pb.Offer
}

// erasePersonal removes a staged request's personal data in memory; the
// caller deletes its sealed data and data key once flushed. An OPEN
// request is cancelled: without an address or phone nobody can help, and
// left OPEN it would still be offered to volunteers.
func erasePersonal(tx *bolt.Tx, st *staged[*pb.HelpRequest], now time.Time) {
	helpRequests.splitPersonal(st.r)
	forgetDoor(tx, st.r.GetLocation())
	st.c = &pb.Contact{}
	st.r.PersonalDataRemovedTime = timestamp(now)
	if st.r.State == pb.HelpRequest_STATE_OPEN {
		st.r.State, st.r.CloseTime = pb.HelpRequest_STATE_CANCELLED, timestamp(now)
	}
	st.changed = true
}

// forgetDoor takes coordinates the caller gave off an erased location:
// read off a map, they pin the house as surely as its address lines do,
// and they are stored in the clear. The postcode's centre, what the
// record would hold had none been given, replaces them; for a postcode
// the gazetteer does not know, nothing does. An erased request is never
// OPEN, so the matcher, which needs coordinates, never sees it.
// (Volunteers need nothing here: erasure deletes them whole.)
func forgetDoor(tx *bolt.Tx, loc *pb.Location) {
	if loc.GetCoordinatesSource() != pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN {
		return
	}
	at, ok := postcodeCentre(tx, loc.Postcode)
	if !ok {
		loc.LatLng, loc.CoordinatesSource = nil, pb.CoordinatesSource_COORDINATES_SOURCE_UNSPECIFIED
		return
	}
	loc.LatLng = &pb.LatLng{Latitude: at.Lat, Longitude: at.Lng}
	loc.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID
}

// finishErasure deletes the sealed data and keys of requests erased in a
// flushed change, logs their update and marks the key rotation due, in
// the change's transaction.
func finishErasure(c *change, reqs []*staged[*pb.HelpRequest]) error {
	top := c.w.tx.Bucket(bHelpRequests)
	for _, st := range reqs {
		if err := dropPersonal(c.w, top, st.id); err != nil {
			return err
		}
		ev := helpRequestEvent(pb.Event_TYPE_HELP_REQUEST_UPDATED, st.r)
		var err error
		if ev.Volunteer, err = requestConcerns(c.w.tx, st.r); err != nil {
			return err
		}
		if err := emit(c.w, ev, c.now); err != nil {
			return err
		}
	}
	return markRotationDue(c.w)
}

// ErasePerson removes the personal data of the person with this E.164
// phone number: every request they made keeps its statistics but loses
// its requester, details, address lines, vulnerability and any coordinates
// given for the door, which give way to the postcode's centre (an OPEN
// one is cancelled), and their volunteer records are deleted. A request
// OFFERED or ASSIGNED, or a volunteer with pending offers or active
// assignments, is ErrHasCommitments and nothing is changed. Then the key epoch is
// rotated, so that no copy of the erased data keys can be opened. An error
// after the erasure committed is returned with its result, and wraps
// ErrKeyRotationPending; the rotation is then finished by the next
// erasure (a retry that finds nothing left to erase included), purge or
// Open. erased, if given, is told what was
// erased as soon as it has committed, before the rotation, which rewrites
// every data key and can take seconds: the caller stops offering an
// erased volunteer then, not once the rotation is done.
func (s *BoltStore) ErasePerson(ctx context.Context, phone string, now time.Time, erased ...func(ErasureResult)) (ErasureResult, error) {
	if phone == "" {
		return ErasureResult{}, errors.New("store: erase person: no phone number")
	}
	var res ErasureResult
	err := s.c.do(ctx, func(w *writeTx) (err error) {
		res, err = erase(w, s.sealer(w.tx), phone, now)
		return err
	})
	s.tokens.invalidate() // after the commit: erased volunteers' tokens are revoked
	if err != nil {
		return ErasureResult{}, fmt.Errorf("store: erase person: %w", err)
	}
	for _, f := range erased {
		f(res)
	}
	if len(res.HelpRequests) == 0 && len(res.Volunteers) == 0 {
		// Nothing left to erase may be a retry after the rotation failed:
		// the erased data keys are still under an epoch in the key file.
		if err := s.finishDueRotation(); err != nil {
			return res, fmt.Errorf("store: erase person: %w: %w", ErrKeyRotationPending, err)
		}
		return res, nil
	}
	if err := s.rotateKeys(); err != nil {
		return res, fmt.Errorf("store: erase person: %w: rotate keys: %w", ErrKeyRotationPending, err)
	}
	return res, nil
}

// finishDueRotation rotates the key epoch if an erasure left it due: one
// whose rotation failed, reported to its caller, is finished here rather
// than only at the next Open.
func (s *BoltStore) finishDueRotation() error {
	var due bool
	err := s.view(func(tx *bolt.Tx) error {
		due = tx.Bucket(bMeta).Get(kRotationDue) != nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("read rotation due: %w", err)
	}
	if !due {
		if err := s.dropUnusedEpochs(); err != nil {
			return fmt.Errorf("drop unused key epochs: %w", err)
		}
		return nil
	}
	if err := s.rotateKeys(); err != nil {
		return fmt.Errorf("rotate keys: %w", err)
	}
	return nil
}

// erase is ErasePerson's transaction, which leaves the key rotation due.
func erase(w *writeTx, sl *sealer, phone string, now time.Time) (ErasureResult, error) {
	var res ErasureResult
	c := newChange(w, now, sl)
	reqs, err := stageByPhone(sl, &c.hrs, phone)
	if err != nil {
		return ErasureResult{}, err
	}
	vols, err := stageByPhone(sl, &c.vols, phone)
	if err != nil {
		return ErasureResult{}, err
	}
	for _, st := range reqs {
		if err := helpRequests.deletable(st.r); err != nil {
			return ErasureResult{}, commitmentsOf(st.r.Name, err)
		}
	}
	for _, st := range vols {
		if err := volunteers.deletable(st.r); err != nil {
			return ErasureResult{}, commitmentsOf(st.r.Name, err)
		}
	}
	if len(reqs) == 0 && len(vols) == 0 {
		return ErasureResult{}, nil
	}
	for _, st := range reqs {
		erasePersonal(w.tx, st, now)
	}
	if err := c.flush(); err != nil {
		return ErasureResult{}, err
	}
	if w.rev == 0 { // only volunteers: flush had nothing to write
		if _, err := bumpRevision(w); err != nil {
			return ErasureResult{}, err
		}
	}
	if err := finishErasure(c, reqs); err != nil {
		return ErasureResult{}, err
	}
	vTop := w.tx.Bucket(bVolunteers)
	for _, st := range vols {
		if err := emit(w, volunteerEvent(pb.Event_TYPE_VOLUNTEER_DELETED, st.r), now); err != nil {
			return ErasureResult{}, err
		}
		if err := deleteAll(w, vTop, c.vols.storedIndexes(st)); err != nil {
			return ErasureResult{}, err
		}
		if err := dropPersonal(w, vTop, st.id); err != nil {
			return ErasureResult{}, err
		}
		if err := w.delete(vTop.Bucket(bRecords), st.id); err != nil {
			return ErasureResult{}, err
		}
		// Their tokens bear their name, and a phone left signed in would
		// go on reading their offers.
		if err := endVolunteerTokens(w, st.r.Name, now, erasedTokenName); err != nil {
			return ErasureResult{}, err
		}
		res.Volunteers = append(res.Volunteers, st.r.Name)
	}
	for _, st := range reqs {
		res.HelpRequests = append(res.HelpRequests, result(helpRequests, st))
	}
	return res, nil
}

// stageByPhone reads the records of a collection whose contact has this
// phone number. The decrypted phone is compared too, so that a collision
// of the truncated hash could never erase someone else.
func stageByPhone[T proto.Message](sl *sealer, ss *stagedSet[T], number string) ([]*staged[T], error) {
	ids, err := sl.idsByPhone(ss.top, number)
	if err != nil {
		return nil, err
	}
	today := phone.Today(number)
	var out []*staged[T]
	for _, id := range ids {
		st, err := ss.get(id)
		if err != nil {
			return nil, err
		}
		if phone.Today(st.c.GetPhone()) == today {
			out = append(out, st)
		}
	}
	return out, nil
}

// ExportPerson returns every help request and volunteer record with this
// E.164 phone number, personal data included, and the offers of those
// requests and to those volunteers.
func (s *BoltStore) ExportPerson(_ context.Context, phone string) (PersonExport, error) {
	if phone == "" {
		return PersonExport{}, errors.New("store: export person: no phone number")
	}
	var out PersonExport
	err := s.view(func(tx *bolt.Tx) error {
		out = PersonExport{}
		sl := s.sealer(tx)
		hrs, vols := newStagedSet(tx, helpRequests, sl), newStagedSet(tx, volunteers, sl)
		reqs, err := stageByPhone(sl, &hrs, phone)
		if err != nil {
			return err
		}
		vs, err := stageByPhone(sl, &vols, phone)
		if err != nil {
			return err
		}
		offers := tx.Bucket(bOffers)
		records := offers.Bucket(bRecords)
		seen := map[string]bool{}
		addOffer := func(id []byte) error {
			if seen[string(id)] {
				return nil
			}
			o := &pb.Offer{}
			ok, err := getProto(records, id, o)
			if err != nil || !ok {
				return err
			}
			seen[string(id)] = true
			out.Offers = append(out.Offers, o)
			return nil
		}
		for _, st := range reqs {
			out.HelpRequests = append(out.HelpRequests, result(helpRequests, st))
			cur := offers.Bucket(bByRequest).Cursor()
			for k, _ := cur.Seek(st.id); k != nil && bytes.HasPrefix(k, st.id); k, _ = cur.Next() {
				if err := addOffer(k[len(st.id):]); err != nil {
					return err
				}
			}
		}
		for _, st := range vs {
			out.Volunteers = append(out.Volunteers, result(volunteers, st))
			cur := offers.Bucket(bByVolunteer).Cursor()
			for k, _ := cur.Seek(st.id); k != nil && bytes.HasPrefix(k, st.id); k, _ = cur.Next() {
				if err := addOffer(k[len(st.id):]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return PersonExport{}, fmt.Errorf("store: export person: %w", err)
	}
	return out, nil
}

// purgeBatch bounds one retention transaction.
const purgeBatch = 500

// purgeable judges r by the clock reading now.
func purgeable(r *pb.HelpRequest, closedBefore, now time.Time) bool {
	if !ClosedState(r.State) {
		return false
	}
	closed := r.GetCloseTime()
	if closed == nil {
		closed = r.UpdateTime // closed before close_time was kept
	}
	at := closed.AsTime()
	// A request closed before it was made was closed by a clock running
	// behind (a box booted with a flat CMOS battery, NTP not yet caught
	// up): judged by that time, its data would be purged as soon as the
	// clock is put right, its whole retention skipped. It closed no
	// earlier than it was made. A create time still ahead of now was
	// itself stamped by a clock running ahead (put right since): the
	// close may be the right time, and judged by the create time the
	// data would be kept for the step as well, a year perhaps.
	if made := r.GetCreateTime(); made != nil && made.AsTime().After(at) && !made.AsTime().After(now.Add(clockSlack)) {
		at = made.AsTime()
	}
	return r.PersonalDataRemovedTime == nil && at.Before(closedBefore)
}

// PurgePersonalData removes, as ErasePerson does, the personal data of up
// to limit FULFILLED, CANCELLED or EXPIRED requests last changed before
// closedBefore, in transactions of at most purgeBatch requests, and then
// rotates the key epoch once if it removed anything or an earlier erasure
// left the rotation due. It returns how many requests it purged.
// Candidates are found in a read transaction and checked again in the
// write. A zero closedBefore (no retention) purges nothing, without
// reading a request, and only finishes a rotation left due (as a
// deletion leaves it).
func (s *BoltStore) PurgePersonalData(ctx context.Context, closedBefore time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("store: purge personal data: limit %d", limit)
	}
	if closedBefore.IsZero() {
		return 0, s.rotateAfterPurge(0, nil)
	}
	var ids [][]byte
	now := s.now()
	err := s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bHelpRequests)
		records, contacts, cur := top.Bucket(bRecords), top.Bucket(bContacts), top.Bucket(bByState).Cursor()
		for _, st := range []pb.HelpRequest_State{pb.HelpRequest_STATE_FULFILLED, pb.HelpRequest_STATE_CANCELLED, pb.HelpRequest_STATE_EXPIRED} {
			prefix := []byte{byte(st)}
			for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(ids) < limit; k, _ = cur.Next() {
				id := k[1:]
				if contacts.Get(id) == nil {
					continue // purged already
				}
				r := &pb.HelpRequest{}
				if _, err := getProto(records, id, r); err != nil {
					return err
				}
				if purgeable(r, closedBefore, now) {
					ids = append(ids, bytes.Clone(id))
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge personal data: %w", err)
	}
	total := 0
	for len(ids) > 0 {
		batch := ids[:min(len(ids), purgeBatch)]
		ids = ids[len(batch):]
		n := 0
		err := s.c.do(ctx, func(w *writeTx) error {
			n = 0
			sl := s.sealer(w.tx)
			c := newChange(w, s.now(), sl)
			var reqs []*staged[*pb.HelpRequest]
			for _, id := range batch {
				st, err := c.hrs.get(id)
				if errors.Is(err, ErrNotFound) {
					continue // deleted since
				}
				if err != nil {
					return err
				}
				if purgeable(st.r, closedBefore, c.now) {
					erasePersonal(w.tx, st, c.now)
					reqs = append(reqs, st)
				}
			}
			if len(reqs) == 0 {
				return nil
			}
			if err := c.flush(); err != nil {
				return err
			}
			if err := finishErasure(c, reqs); err != nil {
				return err
			}
			n = len(reqs)
			return nil
		})
		if err != nil {
			return total, s.rotateAfterPurge(total, fmt.Errorf("store: purge personal data: %w", err))
		}
		total += n
	}
	return total, s.rotateAfterPurge(total, nil)
}

// rotateAfterPurge rotates the key epoch if a purge removed anything, even
// when a later batch failed, so that what was purged is gone for good; and
// if it removed nothing, finishes a rotation an earlier erasure or purge
// left due.
func (s *BoltStore) rotateAfterPurge(purged int, err error) error {
	if purged == 0 {
		if rerr := s.finishDueRotation(); rerr != nil {
			return errors.Join(err, fmt.Errorf("store: purge personal data: %w", rerr))
		}
		return err
	}
	if rerr := s.rotateKeys(); rerr != nil {
		return errors.Join(err, fmt.Errorf("store: purge personal data: rotate keys: %w", rerr))
	}
	return err
}
