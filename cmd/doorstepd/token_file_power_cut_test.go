package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// recordSyncs records every file and directory synced through syncFile from now
// until the test ends, and says, for each, what now() said at that moment.
func recordSyncs[T any](t *testing.T, now func() T) *[]synced[T] {
	t.Helper()
	var got []synced[T]
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	syncFile = func(f *os.File) error {
		got = append(got, synced[T]{f.Name(), now()})
		return f.Sync()
	}
	return &got
}

type synced[T any] struct {
	name string
	then T
}

// TestTokenFileOnDiskBeforeItsToken: the first admin token's secret goes
// to --admin-token-file, then the token is stored. The file was synced,
// but not the directory that names it, so a power cut after the token was
// stored (a Pi's plug pulled; kill -9 loses nothing the kernel holds) could
// leave the token with no file: an admin token nobody holds, and the next
// start makes no other, as the file has one. Both file and directory must
// be synced before the token is stored.
func TestTokenFileOnDiskBeforeItsToken(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tokens := func() int {
		toks, _, err := st.ListTokens(ctx, store.Page{Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		return len(toks)
	}
	tokenDir := t.TempDir()
	tokenFile := filepath.Join(tokenDir, "admin.token")
	got := recordSyncs(t, tokens)

	if err := announceFirstToken(ctx, st, config{adminTokenFile: tokenFile}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if tokens() != 1 {
		t.Fatal("no first admin token stored")
	}
	for _, want := range []string{tokenFile, tokenDir} {
		found := false
		for _, s := range *got {
			if s.name != want {
				continue
			}
			found = true
			if s.then != 0 {
				t.Errorf("%s synced only once the token was stored", want)
			}
		}
		if !found {
			t.Errorf("%s never synced (synced: %v): a power cut can leave the first admin token with no file", want, *got)
		}
	}
}

// TestNewDirectoriesOnDiskBeforeServing: a first start makes --data-dir
// and --backup-dir, with any directory above them missing, and syncs the
// files it writes in them, but not the directories above that name them.
// After a power cut the data directory could be gone with its data file
// and all that was acknowledged, and the next start begin an empty store.
// Each directory above one made is synced before the server answers.
func TestNewDirectoriesOnDiskBeforeServing(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "var", "lib", "doorstep")
	backups := filepath.Join(root, "backups", "doorstep")
	got := recordSyncs(t, func() struct{} { return struct{}{} })
	_, stop := start(t, "--data-dir", data, "--backup-dir", backups)
	synced := map[string]bool{}
	for _, s := range *got {
		synced[s.name] = true
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, made := range []string{data, filepath.Dir(data), filepath.Dir(filepath.Dir(data)), backups, filepath.Dir(backups)} {
		if above := filepath.Dir(made); !synced[above] {
			t.Errorf("%s, which names the new %s, was not synced before the server answered", above, filepath.Base(made))
		}
	}
}

// TestNewDirectoriesSyncedWhereverThePathLeads: --data-dir and
// --backup-dir are given as the operator types them: relative to where
// doorstepd starts, with a trailing slash, through a symlinked directory,
// or as "." itself. Each directory made must have the directory really
// holding it synced, and one that is there already needs nothing.
func TestNewDirectoriesSyncedWhereverThePathLeads(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup returns the path to give and the directories it makes,
		// each with the one really holding it.
		setup func(t *testing.T) (path string, made map[string]string)
	}{
		{"relative", func(t *testing.T) (string, map[string]string) {
			root := t.TempDir()
			t.Chdir(root)
			return filepath.Join("var", "doorstep"), map[string]string{
				filepath.Join(root, "var"):             root,
				filepath.Join(root, "var", "doorstep"): filepath.Join(root, "var")}
		}},
		{"trailing slash", func(t *testing.T) (string, map[string]string) {
			root := t.TempDir()
			return filepath.Join(root, "doorstep") + "/", map[string]string{filepath.Join(root, "doorstep"): root}
		}},
		{"through a symlinked directory", func(t *testing.T) (string, map[string]string) {
			real, link := t.TempDir(), filepath.Join(t.TempDir(), "srv")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "doorstep"), map[string]string{filepath.Join(real, "doorstep"): real}
		}},
		{"the working directory", func(t *testing.T) (string, map[string]string) {
			t.Chdir(t.TempDir())
			return ".", nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, made := tc.setup(t)
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
			if err := mkdirAll(path, 0o700); err != nil {
				t.Fatal(err)
			}
			for dir, above := range made {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					t.Fatalf("%s not made: %v", dir, err)
				}
				afi, err := os.Stat(above)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(synced, func(fi os.FileInfo) bool { return os.SameFile(fi, afi) }) {
					t.Errorf("%s, which holds the new %s, not synced", above, filepath.Base(dir))
				}
			}
			if len(made) == 0 && len(synced) > 0 {
				t.Errorf("%d syncs for a directory that was there already", len(synced))
			}
		})
	}
}
