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

// TestServingLogsTheGCInForce: with --gc-percent 0 (GOGC's own, as when
// GOGC is set) the start logged "gc_percent":0, which reads as collection
// turned off; it logs the value in force.
func TestServingLogsTheGCInForce(t *testing.T) {
	prev := debug.SetGCPercent(250) // as GOGC=250 would have set it
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--gc-percent", "0",
			"--admin-token-file", t.TempDir() + "/admin.token"}, func(string) string { return "" }, &logs, ready)
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
	if !strings.Contains(logs.String(), `"gc_percent":250`) {
		t.Errorf("the serving line does not give the collector's target in force, 250:\n%s", logs.String())
	}
}
