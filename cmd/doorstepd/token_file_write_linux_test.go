package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestTokenFileNotWrittenLeavesNoFile: with --admin-token-file on a full
// disk, the new file is made but its secret cannot be written. The start
// fails, as it must, but the empty file it left made every later start
// refuse with "file exists" until the operator found and removed it (the
// same with --new-admin-token). A file size limit of 0 stands in for the
// full disk: the file is made, its write fails.
func TestTokenFileNotWrittenLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	st, err := store.Open(filepath.Join(dir, "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = withoutRoomForFiles(t, func() error {
		return announceFirstToken(context.Background(), st, config{adminTokenFile: tokenFile}, io.Discard)
	})
	if cerr := st.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err == nil {
		t.Fatal("the secret could not be written, yet the first token was made")
	}
	// Room again: the next start hands the first admin token over.
	startAndStop(t, []string{"--data-dir", dir, "--admin-token-file", tokenFile})
	if raw, err := os.ReadFile(tokenFile); err != nil || strings.TrimSpace(string(raw)) == "" {
		t.Errorf("after a start that could not write the token file, the next start left no first admin token (%q, %v)", raw, err)
	}
}

// withoutRoomForFiles runs fn with the process unable to grow any file,
// as on a full disk (Go ignores SIGXFSZ, so writes fail with EFBIG).
func withoutRoomForFiles(t *testing.T, fn func() error) error {
	t.Helper()
	var was syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
		t.Skip(err)
	}
	none := was
	none.Cur = 0
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &none); err != nil {
		t.Skip(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
			t.Fatal(err)
		}
	}()
	return fn()
}
