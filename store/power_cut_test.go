package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
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

// TestRestoredKeyFileOnDiskBeforeOpenReturns: a restore is both files
// copied into the data directory and a start (README), and cp syncs
// nothing: the key file may be only in the page cache, where ext4 leaves a
// new file's blocks unwritten for up to half a minute. The data file is
// synced by the first commit (fdatasync takes every dirty page of it), but
// nothing synced the key file or the name of either, so a power cut soon
// after the start could keep the writes it acknowledged and lose, or
// empty, the key file that opens their personal data. Open syncs the key
// file it reads and the directories naming it and the data file.
func TestRestoredKeyFileOnDiskBeforeOpenReturns(t *testing.T) {
	backup, dataDir := t.TempDir(), t.TempDir()
	s, err := Open(filepath.Join(backup, "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Put back as cp does: written, not synced.
	for _, name := range []string{"doorstep.db", "doorstep.db.keys"} {
		raw, err := os.ReadFile(filepath.Join(backup, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataDir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var synced []string
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}
	s, err = Open(filepath.Join(dataDir, "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{filepath.Join(dataDir, "doorstep.db.keys"), dataDir} {
		if !slices.Contains(synced, want) {
			t.Errorf("%s not synced by the start after a restore (synced: %q)", want, synced)
		}
	}
}

// TestRestartSyncsTheFilesWhereverThePathLeads: a start syncs the data
// file's directory and the key file, named as the operator gave them:
// relative to where doorstepd was started (--data-dir .), through a
// symlinked directory, or a key file read-only to the server's user (root's,
// mode 0400: fsync needs no write access). Each must start as before and
// sync the directory the files are in, not one the path merely passes.
func TestRestartSyncsTheFilesWhereverThePathLeads(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup returns the path to open and the directory the data file
		// is really in.
		setup func(t *testing.T) (path, dir string)
		after func(t *testing.T, dir string) // between the first start and the second
	}{
		{"relative, in the data directory", func(t *testing.T) (string, string) {
			dir := t.TempDir()
			t.Chdir(dir)
			return "doorstep.db", dir
		}, nil},
		{"relative, below the working directory", func(t *testing.T) (string, string) {
			root := t.TempDir()
			t.Chdir(root)
			if err := os.Mkdir("data", 0o700); err != nil {
				t.Fatal(err)
			}
			return filepath.Join("data", "doorstep.db"), filepath.Join(root, "data")
		}, nil},
		{"through a symlinked directory", func(t *testing.T) (string, string) {
			dir, link := t.TempDir(), filepath.Join(t.TempDir(), "data")
			if err := os.Symlink(dir, link); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "doorstep.db"), dir
		}, nil},
		{"key file read-only", func(t *testing.T) (string, string) {
			dir := t.TempDir()
			return filepath.Join(dir, "doorstep.db"), dir
		}, func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "doorstep.db.keys"), 0o400); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, dir := tc.setup(t)
			s, err := Open(path)
			if err != nil {
				t.Fatalf("first start: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.after != nil {
				tc.after(t, dir)
			}
			var synced []os.FileInfo
			t.Cleanup(func() { syncFile = (*os.File).Sync })
			syncFile = func(f *os.File) error {
				fi, err := f.Stat()
				if err != nil {
					return err
				}
				synced = append(synced, fi)
				return f.Sync()
			}
			s, err = Open(path)
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{dir, filepath.Join(dir, "doorstep.db.keys")} {
				wfi, err := os.Stat(want)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(synced, func(fi os.FileInfo) bool { return os.SameFile(fi, wfi) }) {
					t.Errorf("%s not synced by the restart", want)
				}
			}
		})
	}
}

// TestFailedBackupRemovedOnDisk: a backup that fails once its copy and key
// file are written and synced (here its own directory's sync) is removed,
// but its removal was synced by nobody: after a power cut the directory
// could come back under --backup-dir, everyone's data and the key that
// opens it, a copy no one is on record as having taken, while the admin
// was told no backup was written. The directory above it is synced once
// it is gone.
func TestFailedBackupRemovedOnDisk(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backups := t.TempDir()
	dir := filepath.Join(backups, "doorstep-1")
	type sync struct {
		name       string
		backupGone bool
	}
	var synced []sync
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		_, err := os.Lstat(dir)
		synced = append(synced, sync{f.Name(), errors.Is(err, fs.ErrNotExist)})
		if f.Name() == dir {
			return &fs.PathError{Op: "sync", Path: dir, Err: syscall.EIO}
		}
		return f.Sync()
	}
	if _, err := s.Backup(context.Background(), dir); !errors.Is(err, syscall.EIO) {
		t.Fatalf("backup whose directory cannot be synced: %v, want EIO", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed backup left behind: %v", err)
	}
	if !slices.Contains(synced, sync{backups, true}) {
		t.Errorf("synced %v: not %s once the failed backup was removed from it", synced, backups)
	}
}
