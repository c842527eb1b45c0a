//go:build unix

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFirstTokenNeverToTheJournal: under systemd, stderr is the journal
// (JOURNAL_STREAM names it), which keeps every line, shows it to whoever
// may read the log (journalctl, the adm group) and ships it on. A first
// start without --admin-token-file printed the admin token's secret there.
// It is refused, making no token, and the corrected start makes it; a
// JOURNAL_STREAM that names another file (inherited by a shell the service
// started, its stderr elsewhere) changes nothing.
func TestFirstTokenNeverToTheJournal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		journal bool // JOURNAL_STREAM names stderr itself
	}{
		{"stderr is the journal", true},
		{"JOURNAL_STREAM names another file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			named := stderr
			if !tc.journal {
				if named, err = os.Create(filepath.Join(t.TempDir(), "journal")); err != nil {
					t.Fatal(err)
				}
				defer named.Close()
			}
			var st syscall.Stat_t
			if err := syscall.Fstat(int(named.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			stream := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
			getenv := func(k string) string {
				if k == "JOURNAL_STREAM" {
					return stream
				}
				return ""
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ready := make(chan net.Addr, 1)
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, nil, []string{"--listen", "127.0.0.1:0", "--data-dir", dir}, getenv, stderr, ready)
			}()
			select {
			case <-ready:
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			case err = <-done:
			}
			said, rerr := os.ReadFile(stderr.Name())
			if rerr != nil {
				t.Fatal(rerr)
			}
			shown := strings.Contains(string(said), "the first admin token, shown only this once")
			if !tc.journal {
				if err != nil || !shown {
					t.Fatalf("stderr not the journal: %v, token shown %v; want it shown on stderr", err, shown)
				}
				return
			}
			if shown {
				t.Fatalf("the first admin token's secret was written to the journal:\n%s", said)
			}
			if err == nil || !strings.Contains(err.Error(), "--admin-token-file") {
				t.Fatalf("first start under journald without --admin-token-file: %v, want a refusal naming --admin-token-file", err)
			}
			tokenFile := filepath.Join(t.TempDir(), "admin.token")
			_, stop := start(t, "--data-dir", dir, "--admin-token-file", tokenFile)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if readToken(t, tokenFile) == "" {
				t.Error("the corrected start wrote no token")
			}
		})
	}
}
