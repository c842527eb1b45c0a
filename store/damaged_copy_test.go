package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A data file copied with cp while the server wrote to it keeps the meta
// page of the moment the copy began and the pages of later moments: its
// root then names whatever a later write put in the page it points at (an
// index's keys, as bucket names) and no meta bucket. Every one of fifteen
// such copies taken under load was so; bbolt's own check passed fourteen.
// Open took each for a new, empty file: it made a key file (or took the
// one copied beside it), laid out an empty store over the wreck, and the
// server started as if freshly installed, with a new first admin token.
func TestOpenRefusesFileWithDataButNoSchema(t *testing.T) {
	for _, withKeys := range []bool{false, true} {
		name := map[bool]string{false: "alone", true: "with its key file copied beside it"}[withKeys]
		t.Run(name, func(t *testing.T) {
			good := closedStore(t, "+447700900901")

			path := filepath.Join(t.TempDir(), "doorstep.db")
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("aberdeen-mutual-aid\x00\x01\x9a"))
				return err
			})
			var keys []byte
			if withKeys {
				keys = copyFile(t, good+".keys", path+".keys")
			}
			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("Open of a file with data but no schema: %v, want %v", err, ErrDamaged)
			}
			got, rerr := os.ReadFile(path + ".keys")
			switch {
			case !withKeys && !errors.Is(rerr, os.ErrNotExist):
				t.Errorf("the refused open made a key file: %v", rerr)
			case withKeys && string(got) != string(keys):
				t.Errorf("the refused open changed the key file: %v", rerr)
			}
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				if tx.Bucket(bMeta) != nil {
					t.Error("the refused open laid out a store in the file")
				}
				return nil
			})
		})
	}
}
