package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigOnFirstStartKeepsTheAdminToken: a mistake in a flag
// (--offer-lease out of range, a bad --matching-config, plaintext on an
// address that is not loopback without --insecure, a --metrics-listen
// address in use) stops the first start,
// naming the flag, before the first admin token is made. That token is
// shown only once, so the corrected start that follows is the one to show
// it.
func TestBadConfigOnFirstStartKeepsTheAdminToken(t *testing.T) {
	badMatching := filepath.Join(t.TempDir(), "matching.json")
	if err := os.WriteFile(badMatching, []byte(`{"needs": {"transport": {"max_metres": -1}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name, flag string
		args       []string
	}{
		{"offer lease", "--offer-lease", []string{"--offer-lease", "10s"}},
		{"matching config", "--matching-config", []string{"--matching-config", badMatching}},
		{"plaintext beyond loopback", "--insecure", []string{"--listen", "0.0.0.0:0"}},
		{"metrics address in use", "--metrics-listen", []string{"--metrics-listen", busy.Addr().String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var first bytes.Buffer
			err := run(context.Background(), nil, append([]string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, tc.args...),
				func(string) string { return "" }, &first, nil)
			if err == nil {
				t.Fatalf("%v accepted", tc.args)
			}
			if !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("error %q does not name %s", err, tc.flag)
			}
			if strings.Contains(first.String(), "first admin token") {
				t.Errorf("the failed start made and showed the first admin token before refusing %v:\n%s", tc.args, first.String())
			}
			// Fixed, the next start must still hand over a first token.
			var second bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan net.Addr, 1)
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, nil, []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, func(string) string { return "" }, &second, ready)
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("corrected start: %v", err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("corrected start: %v", err)
			}
			if !strings.Contains(second.String(), "first admin token") {
				t.Errorf("after the failed start, the corrected start shows no admin token: the only one was shown by the start that failed")
			}
		})
	}
}

// TestNegativeShutdownTimeoutRefused: a negative --shutdown-timeout,
// which would cut every running call off at SIGTERM, is refused, naming
// the flag.
func TestNegativeShutdownTimeoutRefused(t *testing.T) {
	_, err := parseConfig([]string{"--shutdown-timeout", "-10s"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--shutdown-timeout") {
		t.Errorf("--shutdown-timeout -10s: %v, want an error naming the flag", err)
	}
}

// TestBadDurationNamesItsFlag: each duration flag out of range is refused
// naming that flag and the value given, not a list of others.
func TestBadDurationNamesItsFlag(t *testing.T) {
	for _, args := range [][]string{
		{"--personal-data-retention", "-720h"},
		{"--event-retention", "-1h"},
		{"--dispatch-every", "-5m"},
		{"--sweep-every", "0s"},
	} {
		_, err := parseConfig(args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), args[0]) || !strings.Contains(err.Error(), strings.TrimPrefix(args[1], "-")) {
			t.Errorf("%v: %v, want an error naming %s and its value", args, err, args[0])
		}
	}
}

// TestRateLimitMustBeANumber: strconv reads "NaN" and "Inf" as numbers; a
// rate of NaN let every call through (the limit silently off) and Inf is
// no limit either: both are refused, naming the flag.
func TestRateLimitMustBeANumber(t *testing.T) {
	for _, v := range []string{"NaN", "nan", "Inf", "+Inf"} {
		_, err := parseConfig([]string{"--rate-limit", v}, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--rate-limit") {
			t.Errorf("--rate-limit %s: %v, want it refused", v, err)
		}
		_, err = parseConfig(nil, func(k string) string { return map[string]string{"DOORSTEP_RATE_LIMIT": v}[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "rate-limit") && !strings.Contains(err.Error(), "RATE_LIMIT") {
			t.Errorf("DOORSTEP_RATE_LIMIT=%s: %v, want it refused", v, err)
		}
	}
}
