package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestDamagedPageTokenKeyStopsStartSayingRestore: a data file whose meta
// holds a page-token key of the wrong length (damage: no version writes
// one) stops the start with words the operator can act on, naming the
// file, that its meta is damaged, and that a backup is what to put back.
func TestDamagedPageTokenKeyStopsStartSayingRestore(t *testing.T) {
	dir := t.TempDir()
	_, stop := start(t, "--data-dir", dir, "--admin-token-file", filepath.Join(t.TempDir(), "admin.token"))
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	path := filepath.Join(dir, "doorstep.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("page_token_key"), []byte("short"))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), nil, []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, func(string) string { return "" }, io.Discard, nil)
	if err == nil {
		t.Fatal("started on a data file whose page token key is 5 bytes")
	}
	// As main prints it.
	said := "doorstepd: " + err.Error()
	for _, want := range []string{path, "page token key", "meta is damaged", "restore", "backup"} {
		if !strings.Contains(said, want) {
			t.Errorf("start refused with %q: it does not say %q", said, want)
		}
	}
}
