package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An erasure's rotation whose last step, the key file rewritten without
// the old epoch, failed (a full disk: the disk backups fill) left that
// epoch in the keyring in use until the next purge. A backup taken
// meanwhile wrote it into its own key file, beside a copy whose free pages
// still hold the erased person's data key wrapped under it: the backup
// undid the crypto-shredding for as long as it is kept. A backup's key
// file holds only the epochs its copy uses.
func TestBackupLeavesOutAnEpochAnErasureDropped(t *testing.T) {
	withRotateChunk(t, 10)
	s, _ := newStore(t)
	phonedRequests(t, s, 40)
	const erased = "+447700900950"
	hr, err := s.CreateHelpRequest(bg, personalRequest("gone", erased), Idempotency{})
	mustOK(t, err, "create")
	var stale []byte
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		stale = bytes.Clone(tx.Bucket(bKeys).Get(idBytes(t, idOf(hr.Name))))
		return nil
	}), "read the data key")
	old := keyEpoch(t, s)

	// The erasure commits; its rotation cannot write the key file.
	mustOK(t, os.Mkdir(s.keyPath+".tmp", 0o700), "take the temporary name")
	if _, err := s.ErasePerson(bg, erased, time.Now()); err == nil {
		t.Fatal("the erasure rotated its keys through a directory")
	}
	mustOK(t, os.Remove(s.keyPath+".tmp"), "free the temporary name")
	// Its rotation goes on and makes the new epoch the file's, and only
	// its last step, the rewrite without the old epoch, fails.
	epoch := beginCutShort(t, s)
	mustOK(t, os.Mkdir(s.keyPath+".tmp", 0o700), "take the temporary name")
	if err := s.rotateKeys(); err == nil {
		t.Fatal("the rotation wrote its key file through a directory")
	}
	mustOK(t, os.Remove(s.keyPath+".tmp"), "free the temporary name")
	if keyEpoch(t, s) != epoch || s.ring.Load().epochs[old] == nil {
		t.Fatal("the rotation did not end with the old epoch left in the keyring: the test shows nothing")
	}

	dir := filepath.Join(t.TempDir(), "backup")
	_, err = s.Backup(bg, dir)
	mustOK(t, err, "backup")
	r, err := readKeyFile(filepath.Join(dir, "doorstep.db.keys"))
	mustOK(t, err, "read the backup's key file")
	if r.epochs[old] != nil {
		t.Errorf("the backup's key file holds epoch %d, which the erasure's rotation replaced: with it, the erased person's data key, "+
			"wrapped under it, opens (%v)", old, unwraps(r, idBytes(t, idOf(hr.Name)), stale))
	}
	if len(r.epochs) != 1 || r.epochs[epoch] == nil {
		t.Errorf("the backup's key file holds %d epochs, want only %d, the one its copy uses", len(r.epochs), epoch)
	}
	verifyAll(t, openAt(t, filepath.Join(dir, "doorstep.db")))
}

func idBytes(t testing.TB, id string) []byte {
	t.Helper()
	k, err := ParseID(id)
	mustOK(t, err, "parse id")
	return k
}

func unwraps(r *keyring, id, wrapped []byte) bool {
	_, err := r.unwrap(id, wrapped)
	return err == nil
}
