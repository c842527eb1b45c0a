package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/internal/smalldisk"
	"github.com/doorstep-aid/doorstep/store"
)

// TestTokenFileNotWrittenLeavesNoFile: with --admin-token-file on a full
// disk, the new file is made but its secret cannot be written. The start
// fails, as it must, but the empty file it left made every later start
// refuse with "file exists" until the operator found and removed it (the
// same with --new-admin-token). The token file is on a small tmpfs that
// is full; the data file is not.
func TestTokenFileNotWrittenLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	full := smalldisk.Mount(t, 64<<10)
	filler := smalldisk.Fill(t, full)
	tokenFile := filepath.Join(full, "admin.token")
	st, err := store.Open(filepath.Join(dir, "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = announceFirstToken(context.Background(), st, config{adminTokenFile: tokenFile}, io.Discard)
	if cerr := st.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err == nil {
		t.Fatal("the secret could not be written, yet the first token was made")
	}
	// Room again: the next start hands the first admin token over.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	startAndStop(t, []string{"--data-dir", dir, "--admin-token-file", tokenFile})
	if raw, err := os.ReadFile(tokenFile); err != nil || strings.TrimSpace(string(raw)) == "" {
		t.Errorf("after a start that could not write the token file, the next start left no first admin token (%q, %v)", raw, err)
	}
}
