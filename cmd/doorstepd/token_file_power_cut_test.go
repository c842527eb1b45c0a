package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
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
