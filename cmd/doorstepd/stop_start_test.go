package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStopDuringStartIsNotAFailure: a SIGTERM or Ctrl-C that comes while
// doorstepd starts (a deploy restarting it again, an operator who sees
// the gazetteer load will take minutes) is a stop asked for. The start
// ends there, without serving, and run returns nil, so that doorstepd
// exits 0 and a service manager does not mark the unit failed; a
// gazetteer load stopped part-way is picked up by the next start's
// warning, and a first admin token not yet made is made by the next start.
func TestStopDuringStartIsNotAFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		first bool // the data file is empty: the start would make the first admin token
	}{
		{"gazetteer load", []string{"--gazetteer", "../../testdata/onspd_aberdeen_sample.csv"}, true},
		{"first start", nil, true},
		{"later start", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "admin.token")
			base := []string{"--data-dir", dir, "--admin-token-file", tokenFile}
			if !tc.first {
				startAndStop(t, base)
			}
			stopped, cancel := context.WithCancel(context.Background())
			cancel() // the signal came before the start was through
			ready := make(chan net.Addr, 1)
			args := append([]string{"--listen", "127.0.0.1:0", "--log-level", "error"}, append(base, tc.args...)...)
			if err := run(stopped, nil, args, func(string) string { return "" }, io.Discard, ready); err != nil {
				t.Errorf("stopped while starting: %v, want nil (exit 0)", err)
			}
			if len(ready) > 0 {
				t.Errorf("a start stopped before it was through went on to serve")
			}
			// The next start must still hand over the first admin token.
			startAndStop(t, base)
			if raw, err := os.ReadFile(tokenFile); err != nil || strings.TrimSpace(string(raw)) == "" {
				t.Errorf("after the stopped start, the next start left no first admin token: %v", err)
			}
		})
	}
}

// startAndStop starts doorstepd with args until it serves, then stops it.
func startAndStop(t *testing.T, args []string) {
	t.Helper()
	_, stop := start(t, args...)
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
