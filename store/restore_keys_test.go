package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An operator restores a backup taken before an erasure, and keeps the key
// file the erasure rotated (or the other way round: the live data file and
// an old key file). The key file is this store's, so the refusal must say
// what is wrong with it: which file, and that it is from another moment
// than the data file, not that it "does not belong".
func TestOpenKeyFileFromAnotherMoment(t *testing.T) {
	s, path := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900902"), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	saved := t.TempDir()
	oldData := copyFile(t, path, filepath.Join(saved, "doorstep.db"))
	oldKeys := copyFile(t, path+".keys", filepath.Join(saved, "doorstep.db.keys"))

	s = openAt(t, path)
	_, err = s.ErasePerson(bg, "+447700900902", time.Now())
	mustOK(t, err, "erase, which rotates the keys")
	mustOK(t, s.Close(), "close")
	newData, newKeys := readFile(t, path), readFile(t, path+".keys")

	for _, c := range []struct {
		name       string
		data, keys []byte
	}{
		{"the backup's data file with the rotated key file", oldData, newKeys},
		{"the live data file with the backup's key file", newData, oldKeys},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "doorstep.db")
			mustOK(t, os.WriteFile(p, c.data, 0o600), "write data")
			mustOK(t, os.WriteFile(p+".keys", c.keys, 0o600), "write keys")
			_, err := Open(p, WithOpenTimeout(100*time.Millisecond))
			mustErr(t, err, ErrKeyFileMismatch, "open")
			for _, want := range []string{p + ".keys", "lacks key epoch", "saved with"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}
