package main

import (
	"bytes"
	"context"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the server's logger may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAndStopLogged starts doorstepd with args, stops it once it serves,
// and returns what it logged (at info and above, as JSON).
func startAndStopLogged(t *testing.T, args ...string) string {
	t.Helper()
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, append([]string{"--listen", "127.0.0.1:0"}, args...), func(string) string { return "" }, &logs, ready)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("doorstepd did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("doorstepd did not start in 30s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// TestServingLogsTheGCInForce: with --gc-percent 0 (GOGC's own, as when
// GOGC is set) the start logged "gc_percent":0, which reads as collection
// turned off; it logs the value in force.
func TestServingLogsTheGCInForce(t *testing.T) {
	prev := debug.SetGCPercent(250) // as GOGC=250 would have set it
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	logs := startAndStopLogged(t, "--data-dir", t.TempDir(), "--gc-percent", "0", "--admin-token-file", t.TempDir()+"/admin.token")
	if !strings.Contains(logs, `"gc_percent":250`) {
		t.Errorf("the serving line does not give the collector's target in force, 250:\n%s", logs)
	}
}
