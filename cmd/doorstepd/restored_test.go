package main

import (
	"path/filepath"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestRestoredColdCopy: a data file put back from a copy taken with the
// server stopped carries no backup's mark; started once with --restored,
// the server moves its revision on past any the live server handed out
// since, so that no watcher resumes onto other changes and no old etag
// matches a new version.
func TestRestoredColdCopy(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	_, stop := start(t, "--data-dir", dir, "--admin-token-file", tokenFile)
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	revision := func() uint64 {
		st, err := store.Open(filepath.Join(dir, "doorstep.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rev, err := st.Revision()
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	before := revision()
	_, stop = start(t, "--data-dir", dir, "--restored")
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if after := revision(); after < before+1<<32 {
		t.Errorf("started --restored, the revision went from %d to %d: want it moved on past anything the live server handed out", before, after)
	}
}
