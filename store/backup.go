package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// kBackupOf marks a backup's copy of the data file: revision(8) then the
// time it was taken (8, unix nanos big-endian). The live file never holds
// it, so Open finding it knows the file was put back from a backup, and
// says what that undid (warnRestored).
var kBackupOf = []byte("backup_of")

// kRestoredAt marks when the file was last started as restored from a
// backup (warnRestored), in Unix nanoseconds big-endian: the earliest
// time an id made since can bear (idGen.floor), not the clock's reading,
// which on a machine whose clock is behind the one that took the backup
// reads before the backup's own records. An offer whose id is older that
// lapses is not counted against its volunteer
// (pb.Volunteer.unanswered_offers, change.lapse): the restore undid any
// answer they gave after the backup was taken, and a count would pause
// someone who took the jobs offered them.
var kRestoredAt = []byte("restored_at")

// backupBegun, when set (by tests), runs once a backup's snapshot is
// taken, before it is copied.
var backupBegun func()

// BackupInfo describes a backup Backup wrote.
type BackupInfo struct {
	Dir      string    // the directory holding doorstep.db and doorstep.db.keys
	Revision uint64    // the last write the backup holds
	Time     time.Time // when it was taken
	Bytes    int64     // the size of its data file
}

// Backup writes a copy of the store, as of one moment, to dir, which it
// creates and which must not exist: dir/doorstep.db and beside it
// dir/doorstep.db.keys, the key file that opens it. Writes go on while it
// runs. Copying the live file with cp while the server writes makes a
// copy whose pages come from different moments, which Open refuses
// (ErrDamaged), and copying the key file apart from it can miss the epoch
// a rotation in between replaced (ErrKeyFileMismatch).
//
// The copy is one read transaction's snapshot (bbolt's Tx.WriteTo). The
// keyring is taken while that transaction begins, under keyMu, which
// dropping an epoch waits for: it holds every epoch the snapshot's data
// keys are wrapped under. The backup's key file holds only those (and a
// rotation's under way): the keyring in use may still hold an epoch a
// rotation has replaced (its last step, the key file rewritten without
// it, failed, or has yet to run), which opens the stale copies, in the
// copy's free pages, of the data keys an erasure deleted. A failed or
// cancelled backup removes what it wrote.
//
// Until the rotation a deletion or erasure leaves due is done, the epoch
// the snapshot uses opens those stale copies too, so the backup finishes
// it first (backupSnapshot). When that fails (the data directory not
// writable, a full disk), the backup is still taken, as backups must not
// stop for it, and the error returned with its info wraps
// ErrKeyRotationPending: it holds what was erased or deleted since the
// last completed rotation.
func (s *BoltStore) Backup(ctx context.Context, dir string) (BackupInfo, error) {
	info := BackupInfo{Dir: dir, Time: s.now()}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	tx, ring, pending, err := s.backupSnapshot()
	if err == nil {
		err = s.backupTo(ctx, dir, &info, tx, ring)
	}
	if err != nil {
		_ = s.RemoveBackup(dir)
		return info, fmt.Errorf("backup %s: %w", dir, err)
	}
	// The new directory's own entry, in the directory above it: without
	// this, a crash soon after the backup is reported can lose it whole.
	if err := syncDir(filepath.Dir(dir)); err != nil {
		_ = s.RemoveBackup(dir)
		return info, fmt.Errorf("backup %s: %w", dir, err)
	}
	s.logger.Info("store backed up", zap.String("dir", dir), zap.Uint64("revision", info.Revision),
		zap.Int64("bytes", info.Bytes), zap.Duration("took", s.now().Sub(info.Time)))
	if pending != nil {
		return info, fmt.Errorf("backup %s: %w: %w", dir, ErrKeyRotationPending, pending)
	}
	return info, nil
}

// backupCopying is the copy's name in a backup's directory until it is
// whole, marked and its key file written; then it is renamed doorstep.db.
const backupCopying = "doorstep.db.tmp"

// UnfinishedBackups lists the directories under root of backups begun and
// never finished: the process was killed during the copy (kill -9, a power
// cut, the OOM killer), and nothing could remove what it wrote. Each holds
// part or all of a copy of everyone's data, perhaps with the key file that
// opens it, and no audit record names it. They are named, not removed:
// another server writing its backups under root may be taking one now.
func UnfinishedBackups(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("unfinished backups: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Lstat(filepath.Join(dir, backupCopying)); err == nil {
			dirs = append(dirs, dir)
		}
	}
	return dirs, nil
}

// RemoveBackup removes dir, a backup Backup wrote, and syncs the
// directory above it: a removal not on disk can be undone by a power cut,
// bringing back everyone's data and the key that opens it.
func (s *BoltStore) RemoveBackup(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// backupRotations bounds the rotations a backup runs before its snapshot:
// a deletion committed while one ran leaves the rotation due again.
const backupRotations = 2

// backupSnapshot begins the read transaction a backup copies and loads
// the keyring that opens it, once no key rotation is due: it runs the one
// due first. It holds rotateMu until the transaction has begun, so that
// no rotation is halfway through the snapshot (the old epoch still in
// use by the keys not yet re-wrapped). pending is why the snapshot still
// has the rotation due: the rotation failed, or deletions kept leaving it
// due.
func (s *BoltStore) backupSnapshot() (tx *bolt.Tx, ring *keyring, pending, err error) {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	for tries := 0; ; tries++ {
		s.keyMu.RLock()
		tx, err = s.db.Begin(false)
		ring = s.ring.Load()
		s.keyMu.RUnlock()
		if err != nil {
			return nil, nil, nil, closedErr(err)
		}
		if tx.Bucket(bMeta).Get(kRotationDue) == nil {
			return tx, ring, nil, nil
		}
		if pending != nil {
			return tx, ring, pending, nil
		}
		if tries == backupRotations {
			return tx, ring, errors.New("deletions left the key rotation due again while it ran"), nil
		}
		_ = tx.Rollback()
		// The rotation a crash cut short, if any, resumes here; the loop
		// then sees whether one is due again, as rotateKeys does.
		if _, err := s.rotateOnce(); err != nil {
			pending = fmt.Errorf("rotate keys: %w", err)
		}
	}
}

// backupTo copies the snapshot tx, which it ends, and the keys it uses
// from ring into dir.
func (s *BoltStore) backupTo(ctx context.Context, dir string, info *BackupInfo, tx *bolt.Tx, ring *keyring) (err error) {
	defer func() { _ = tx.Rollback() }()
	if backupBegun != nil {
		backupBegun()
	}
	if raw := tx.Bucket(bMeta).Get(kRevision); len(raw) == 8 {
		info.Revision = binary.BigEndian.Uint64(raw)
	}
	if ring, err = snapshotKeys(tx, ring); err != nil {
		return fmt.Errorf("key file: %w", err)
	}

	data := filepath.Join(dir, "doorstep.db")
	tmp := filepath.Join(dir, backupCopying)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = tx.WriteTo(ctxWriter{ctx, f})
	// The snapshot is copied: let the writer reuse its pages while the
	// copy is synced, which on a large file takes a while of its own.
	_ = tx.Rollback()
	if err != nil && ctx.Err() != nil {
		// bbolt words its first pages' write errors afresh, losing the
		// cancellation, which the caller must see as its own doing.
		err = ctx.Err()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := markBackup(tmp, info); err != nil {
		return fmt.Errorf("mark the copy: %w", err)
	}
	if err := writeKeyFile(data+".keys", ring); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err := os.Rename(tmp, data); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	fi, err := os.Stat(data)
	if err != nil {
		return err
	}
	info.Bytes = fi.Size()
	return nil
}

// snapshotKeys is ring with only the epochs tx uses: the file's, those its
// data keys are wrapped under, and the one a rotation under way moves to,
// whose phone indexes it holds.
func snapshotKeys(tx *bolt.Tx, ring *keyring) (*keyring, error) {
	used, err := epochsInUse(tx)
	if err != nil {
		return nil, err
	}
	if raw := tx.Bucket(bMeta).Get(kKeyRotating); len(raw) >= 4 {
		if e := binary.BigEndian.Uint32(raw); ring.epochs[e] != nil {
			used[e] = true
		}
	}
	for e := range used {
		if ring.epochs[e] == nil {
			return nil, fmt.Errorf("epoch %d: %w", e, errKeyEpochUnknown)
		}
	}
	return ring.only(used), nil
}

// markBackup notes in the copy what it is a backup of (kBackupOf).
func markBackup(path string, info *BackupInfo) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		mark := binary.BigEndian.AppendUint64(u64(info.Revision), uint64(info.Time.UnixNano()))
		return tx.Bucket(bMeta).Put(kBackupOf, mark)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxWriter stops a copy when its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// restoreJump is how far a restore moves the revision on. The backup's
// revisions past its own were handed out before the restore, as etags and
// as watchers' resume points; taken again by new writes, an etag read
// before the restore would match another version of its record (a stale
// edit taken instead of ABORTED), and a watcher that had seen past the
// backup would resume silently onto changes that do not follow what it
// saw. Far more than the writes between a backup and its restore, so no
// revision is handed out twice.
//
// The same backup may be restored twice (a restore that went wrong, put
// back again), and a jump from its revision alone would land the second
// where the first began. So the revision also moves to at least the time
// in microseconds: no store writes a million times a second, so a later
// restore starts past every revision an earlier one handed out, as long
// as the clock moved on. Microseconds since 1970 stay below 2^53 until the
// 2250s, so the revision still reads exactly as a JavaScript number.
const restoreJump = 1 << 32

// restoredRevision is the revision a restore moves rev on to at now.
func restoredRevision(rev uint64, now time.Time) uint64 {
	return max(rev+restoreJump, uint64(max(now.UnixMicro(), 0)))
}

// warnRestored runs at Open: a file that carries a backup's mark was put
// back from that backup, which undid everything after it. Erasures among
// that are a legal duty the store cannot redo on its own (the audit
// records of them went too), so the operator is told, once. In the write
// that takes the mark off, the revision jumps on (restoredRevision) and the event
// log's floor moves past it, so that every watcher is told its events were
// compacted, and reloads.
//
// told is WithRestored: the file is a copy Backup did not write, so it
// has no mark, and the operator says what it is.
func (s *BoltStore) warnRestored(told bool) error {
	var mark []byte
	var rev uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		mark, rev = bytes.Clone(tx.Bucket(bMeta).Get(kBackupOf)), currentRevision(tx)
		return nil
	}); err != nil || (mark == nil && !told) {
		return err
	}
	switch {
	case mark == nil:
		s.logger.Warn("the data file was restored from a backup (a copy the server did not write, as the start was told): every change after it is undone. Erase again each person erased since "+
			"(doorstep admin erase), revoke again each token revoked since, and delete again what was deleted since; watchers reload",
			zap.Uint64("backup_revision", rev))
	case len(mark) == 16:
		s.logger.Warn("the data file was restored from a backup: every change after it is undone. Erase again each person erased since "+
			"(doorstep admin erase), revoke again each token revoked since, and delete again what was deleted since; watchers reload",
			zap.Uint64("backup_revision", binary.BigEndian.Uint64(mark)),
			zap.Time("backup_time", time.Unix(0, int64(binary.BigEndian.Uint64(mark[8:]))).UTC()))
	}
	// Through the committer, which then rings its bell with the new
	// revision: Changes must not answer with the backup's.
	err := s.c.do(context.Background(), func(w *writeTx) error {
		meta := w.tx.Bucket(bMeta)
		w.rev = restoredRevision(currentRevision(w.tx), s.now())
		if err := w.put(meta, kRevision, u64(w.rev)); err != nil {
			return err
		}
		// The events still logged below the floor are the sweep's to
		// delete, by their age, as ever.
		if err := w.put(meta, kEventFloor, u64(w.rev+1)); err != nil {
			return err
		}
		// After seedIDs: every id made from here on sorts after the
		// backup's, whatever this machine's clock reads.
		if err := w.put(meta, kRestoredAt, u64(uint64(max(s.ids.floor(s.now()).UnixNano(), 0)))); err != nil {
			return err
		}
		return w.delete(meta, kBackupOf)
	})
	if err != nil {
		return fmt.Errorf("clear the backup's mark: %w", err)
	}
	return nil
}
