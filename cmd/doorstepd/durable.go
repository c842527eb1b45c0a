package main

import (
	"os"
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
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
