package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// syncFile is f.Sync. A test replaces it to see which files and
// directories are made durable, and when: an order that kill -9 cannot
// show, as the page cache outlives the process, and only a power cut does.
var syncFile = (*os.File).Sync

// syncDir syncs a directory's entries: a file made or renamed in it is
// not on disk until they are.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = syncFile(d)
	if errors.Is(err, syscall.EINVAL) {
		// The file system cannot sync a directory at all (some network
		// and FUSE ones): there is nothing more to be had of it, and
		// refusing would stop every start there. PostgreSQL and SQLite
		// take it the same way.
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAll is os.MkdirAll, and syncs the directory above each one it
// made: a power cut can otherwise take a new directory away, and with it
// every file later written and synced in it (a first start's data file,
// with all it acknowledged, or a backup reported as taken).
func mkdirAll(path string, perm os.FileMode) error {
	var made []string
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		made = append(made, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	if err := os.MkdirAll(path, perm); err != nil {
		return err
	}
	for _, dir := range made {
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	return nil
}
