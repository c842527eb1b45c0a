package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An operator who upgraded, ran the new version for a day and went back
// to the old binary met "schema 14, this version reads up to 13: data
// file was written by a newer version", and nothing said what to do: the
// file cannot be taken back to the older layout, and the way back is the
// backup taken before the upgrade, or the newer version again.
func TestOpenNewerSchemaSaysWhatToDo(t *testing.T) {
	for _, newer := range []uint64{SchemaVersion + 1, SchemaVersion + 50} {
		t.Run(fmt.Sprint(newer), func(t *testing.T) {
			path := t.TempDir() + "/doorstep.db"
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bMeta)
				if err != nil {
					return err
				}
				return b.Put(kSchemaVersion, u64(newer))
			})
			_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
			mustErr(t, err, ErrNewerSchema, "open of a newer file")
			for _, want := range []string{
				fmt.Sprintf("schema %d, this version reads up to %d", newer, SchemaVersion),
				"run the version that wrote it",
				"backup taken before the upgrade",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
		})
	}
}
