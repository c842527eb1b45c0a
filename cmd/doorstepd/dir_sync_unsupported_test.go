package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestMkdirAllWhereDirectoriesCannotBeSynced: a file system that answers
// a directory's fsync with EINVAL (some network and FUSE ones) cannot make
// a new name durable on request at all; a first start there stopped at the
// sync of --data-dir's parent, though nothing more could be had of it.
func TestMkdirAllWhereDirectoriesCannotBeSynced(t *testing.T) {
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EINVAL}
	}
	dir := filepath.Join(t.TempDir(), "var", "doorstep")
	if err := mkdirAll(dir, 0o700); err != nil {
		t.Fatalf("made %s where directories cannot be synced: %v", dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s: %v", dir, err)
	}
	syncFile = func(f *os.File) error {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
	}
	if err := mkdirAll(filepath.Join(dir, "backups"), 0o700); err == nil {
		t.Error("a directory whose parent's sync failed with EIO was taken as made")
	}
}
