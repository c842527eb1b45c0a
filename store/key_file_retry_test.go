package store

import (
	"os"
	"testing"
	"time"
)

// A rotation's last step rewrites the key file without the old epoch,
// after its last transaction has made the new epoch the file's and cleared
// the rotation due. When that write fails (a full disk), the old master
// key, which opens the stale copies of the data keys an erasure deleted,
// stayed in the key file until the next restart: nothing was due, so no
// purge or erasure tried again. The next one drops it, as Open would.
func TestOldEpochLeftByAFailedKeyFileWriteIsDropped(t *testing.T) {
	withRotateChunk(t, 10)
	for _, next := range []struct {
		name string
		run  func(s *BoltStore) error
	}{
		{"hourly purge", func(s *BoltStore) error {
			_, err := s.PurgePersonalData(bg, time.Now().Add(-time.Hour), 100)
			return err
		}},
		{"erasure finding nothing", func(s *BoltStore) error { _, err := s.ErasePerson(bg, "+447700999999", time.Now()); return err }},
	} {
		t.Run(next.name, func(t *testing.T) {
			s, _ := newStore(t)
			phonedRequests(t, s, 40)
			mustOK(t, s.c.do(bg, markRotationDue), "mark due")
			epoch := beginCutShort(t, s)
			// The key file cannot be replaced while its temporary name is
			// taken, as on a full disk.
			mustOK(t, os.Mkdir(s.keyPath+".tmp", 0o700), "take the temporary name")
			if err := s.rotateKeys(); err == nil {
				t.Fatal("the rotation wrote its key file through a directory")
			}
			r, err := readKeyFile(s.keyPath)
			mustOK(t, err, "read key file")
			if len(r.epochs) < 2 {
				t.Fatalf("the key file has %d epochs after its rewrite failed: the test proves nothing", len(r.epochs))
			}
			mustOK(t, os.Remove(s.keyPath+".tmp"), "free the temporary name")

			mustOK(t, next.run(s), next.name)
			r, err = readKeyFile(s.keyPath)
			mustOK(t, err, "read key file")
			if len(r.epochs) != 1 || r.epochs[epoch] == nil {
				t.Errorf("after the %s the key file holds %d epochs, want only %d, the one in use", next.name, len(r.epochs), epoch)
			}
			if got := len(s.ring.Load().epochs); got != 1 {
				t.Errorf("after the %s the keyring in use holds %d epochs, want 1", next.name, got)
			}
		})
	}
}
