package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A deletion leaves the key rotation to the next purge, and an erasure
// whose rotation failed (the data directory not writable, a full disk)
// leaves it due too. Until it is done, the epoch in use opens the stale
// copies of the deleted data keys in the file's free pages, and a backup
// copies both, the free pages and that epoch: taken then, it held the
// erased person for as long as it was kept, and said nothing. A backup
// finishes the rotation first; when that fails it is still taken, and
// says it holds what was erased (ErrKeyRotationPending, with its info).
func TestBackupFinishesTheKeyRotationDue(t *testing.T) {
	withRotateChunk(t, 10)
	const gone = "+447700900950"
	for _, tc := range []struct {
		name    string
		remove  func(t *testing.T, s *BoltStore, id string)
		blocked bool // the key file still cannot be replaced when the backup is taken
	}{
		{name: "deletion, rotation left to the purge", remove: func(t *testing.T, s *BoltStore, id string) {
			mustOK(t, s.DeleteHelpRequest(bg, id, ""), "delete")
		}},
		{name: "erasure whose rotation failed, directory mended", remove: eraseUnrotated(gone)},
		{name: "erasure whose rotation failed, directory still unwritable", remove: eraseUnrotated(gone), blocked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			phonedRequests(t, s, 40)
			hr, err := s.CreateHelpRequest(bg, personalRequest("gone", gone), Idempotency{})
			mustOK(t, err, "create")
			id := idBytes(t, idOf(hr.Name))
			var stale []byte
			mustOK(t, s.view(func(tx *bolt.Tx) error {
				stale = bytes.Clone(tx.Bucket(bKeys).Get(id))
				return nil
			}), "read the data key")
			old := keyEpoch(t, s)
			tc.remove(t, s, idOf(hr.Name))
			if tc.blocked {
				mustOK(t, os.Mkdir(s.keyPath+".tmp", 0o700), "take the temporary name")
			}

			dir := filepath.Join(t.TempDir(), "backup")
			info, err := s.Backup(bg, dir)
			if pending := errors.Is(err, ErrKeyRotationPending); pending != tc.blocked || (err != nil && !pending) {
				t.Fatalf("backup: %v; want the key rotation pending %v", err, tc.blocked)
			}
			if info.Dir != dir || info.Bytes == 0 {
				t.Fatalf("backup info %+v: the backup was not kept", info)
			}
			r, err := readKeyFile(filepath.Join(dir, "doorstep.db.keys"))
			mustOK(t, err, "read the backup's key file")
			if opens := unwraps(r, id, stale); opens != tc.blocked {
				t.Errorf("the backup's key file opens the removed request's data key: %v, want %v (its epochs: %d, the one before the removal: %d)",
					opens, tc.blocked, len(r.epochs), old)
			}
			if !tc.blocked && (len(r.epochs) != 1 || r.epochs[old] != nil) {
				t.Errorf("the backup's key file holds %d epochs, among them %v the one before the removal; want only the new one",
					len(r.epochs), r.epochs[old] != nil)
			}
			verifyAll(t, openAt(t, filepath.Join(dir, "doorstep.db")))
		})
	}
}

// eraseUnrotated erases phone with the key file's temporary name taken,
// so that its rotation fails, and then frees the name.
func eraseUnrotated(phone string) func(t *testing.T, s *BoltStore, id string) {
	return func(t *testing.T, s *BoltStore, _ string) {
		t.Helper()
		mustOK(t, os.Mkdir(s.keyPath+".tmp", 0o700), "take the temporary name")
		if _, err := s.ErasePerson(bg, phone, time.Now()); !errors.Is(err, ErrKeyRotationPending) {
			t.Fatalf("erasure with the key file's temporary name taken: %v, want its rotation pending", err)
		}
		mustOK(t, os.Remove(s.keyPath+".tmp"), "free the temporary name")
	}
}
