package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestFirstTokenFileLeftByAStartStopped: the first admin token's secret is
// written to --admin-token-file before the token is stored, so a start
// killed between the two (kill -9, the machine going down; the first start
// after an upgrade from a build before tokens makes that token too) leaves
// a file whose secret no token has. The next start refused with "admin
// token file: open FILE: file exists" and nothing more: not that the
// secret opens nothing here, nor what to do. It says both; the file is
// left as it is, for it may not be this server's to remove, and the words
// say so too.
func TestFirstTokenFileLeftByAStartStopped(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := config{adminTokenFile: filepath.Join(dir, "admin.token")}
	// What the stopped start did before it was stopped.
	if _, _, err := adminSecret(c, "first admin token"); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadFile(c.adminTokenFile)
	if err != nil {
		t.Fatal(err)
	}

	err = announceFirstToken(context.Background(), st, c, io.Discard)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("next start: %v, want it refused for the file there", err)
	}
	for _, want := range []string{c.adminTokenFile, "no token", "opens nothing on this server", "remove it", "another server's"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("next start: %q, want it to say %q", err, want)
		}
	}
	// The file may be another server's (one path given to two installs),
	// whose secret works there: the words must not say it works nowhere.
	if strings.Contains(err.Error(), "works nowhere") {
		t.Errorf("next start: %q says the secret works nowhere, which it may, on another server", err)
	}
	if now, err := os.ReadFile(c.adminTokenFile); err != nil || !bytes.Equal(now, left) {
		t.Errorf("the file left was changed or removed (%v)", err)
	}
	if toks, _, err := st.ListTokens(context.Background(), store.Page{Size: 1}); err != nil || len(toks) != 0 {
		t.Errorf("a token was stored (%d, %v)", len(toks), err)
	}
}

// TestFirstTokenFileADirectory: --admin-token-file naming a directory is
// refused as "file exists" too (a new file cannot be made there), but no
// start left it: the operator must not be told that it holds a secret
// that works nowhere, nor to remove it.
func TestFirstTokenFileADirectory(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := config{adminTokenFile: filepath.Join(dir, "secrets")}
	if err := os.Mkdir(c.adminTokenFile, 0o700); err != nil {
		t.Fatal(err)
	}
	err = announceFirstToken(context.Background(), st, c, io.Discard)
	if err == nil {
		t.Fatal("a directory taken as the token file")
	}
	for _, wrong := range []string{"works nowhere", "remove it", "stopped"} {
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("start with a directory as --admin-token-file: %q says %q", err, wrong)
		}
	}
	if !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("start with a directory as --admin-token-file: %q, want it to say it is a directory", err)
	}
	if fi, err := os.Stat(c.adminTokenFile); err != nil || !fi.IsDir() {
		t.Errorf("the directory was changed or removed (%v)", err)
	}
}
