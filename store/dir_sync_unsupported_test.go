package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenWhereDirectoriesCannotBeSynced: some file systems (network and
// FUSE ones among them) answer a directory's fsync with EINVAL: they
// cannot make a name durable on request at all. A store moved or restored
// onto one opened before Open began to sync its directories; every start
// there then stopped with "sync D: invalid argument". There is nothing
// more to be had from such a file system, so Open goes on, as it did; a
// file's own sync failing still stops it.
func TestOpenWhereDirectoriesCannotBeSynced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "doorstep.db")
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EINVAL}
		}
		return f.Sync()
	}
	for _, what := range []string{"a first open", "a later open"} {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("%s where directories cannot be synced: %v", what, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	syncFile = func(f *os.File) error {
		if fi, err := f.Stat(); err == nil && !fi.IsDir() {
			return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
		}
		return f.Sync()
	}
	if s, err := Open(path); err == nil {
		s.Close()
		t.Error("an open whose key file's sync failed went on")
	}
}
