package store

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNewDataFileNamedOnDiskWithKeyFileElsewhere: a first Open makes the
// data file; bbolt syncs its pages but not the directory that names it.
// With the key file beside it, the key file's own directory sync covered
// that; with WithKeyFile in another directory nothing did, and a power cut
// after writes were acknowledged could lose the data file's name, and
// with it all of them (the next Open refuses: ErrDataFileMissing). The data
// file's directory is synced before Open returns, and before the key file
// is made, which would otherwise name a data file that is not there.
func TestNewDataFileNamedOnDiskWithKeyFileElsewhere(t *testing.T) {
	dataDir, keyDir := t.TempDir(), t.TempDir()
	keyFile := filepath.Join(keyDir, "doorstep.keys")
	type sync struct {
		dir          string
		keyFileThere bool
	}
	var synced []sync
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		_, err := os.Stat(keyFile)
		synced = append(synced, sync{f.Name(), err == nil})
		return f.Sync()
	}
	s, err := Open(filepath.Join(dataDir, "doorstep.db"), WithKeyFile(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range synced {
		if s.dir == dataDir && !s.keyFileThere {
			return
		}
	}
	t.Errorf("synced %v: not the new data file's directory, %s, before the key file was made", synced, dataDir)
}
