package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is written by the watch while the test reads it.
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

// watchUntil runs doorstep watch until its output has n lines, then stops
// it as Ctrl-C would, and returns the lines and the exit code.
func (e *testEnv) watchUntil(n int, args ...string) ([]string, int) {
	e.t.Helper()
	// Watching is for coordinators, not the helpline role.
	saved := e.env["DOORSTEP_TOKEN"]
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	defer func() { e.env["DOORSTEP_TOKEN"] = saved }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAt(ctx, append([]string{"watch"}, args...), e.getenv, strings.NewReader(""), &out, &errOut, e.clock.now)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(out.String(), "\n") < n {
		select {
		case code := <-done:
			e.t.Fatalf("watch ended early with exit %d: %s%s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("watch printed only:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	code := <-done
	if errOut.String() != "" {
		e.t.Errorf("watch stderr = %q", errOut.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), code
}

// TestWatch prints one line per event from a revision on, filters by
// type, and ends cleanly on Ctrl-C.
func TestWatch(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.ok("offer", "decline", offer)

	lines, code := e.watchUntil(7, "--from", "1")
	if code != 0 {
		t.Errorf("watch exit %d after Ctrl-C, want 0", code)
	}
	want := []string{"volunteer created", "volunteer created", "help request created", "offer created", "help request state changed", "offer declined", "help request state changed"}
	for i, w := range want {
		if i >= len(lines) || !strings.Contains(lines[i], w) {
			t.Fatalf("line %d of the watch is not %q:\n%s", i+1, w, strings.Join(lines, "\n"))
		}
	}
	if !strings.Contains(lines[2], req) || !strings.Contains(lines[2], "now open") || !strings.Contains(lines[2], "["+org+"]") {
		t.Errorf("request created line = %q", lines[2])
	}
	if !strings.Contains(lines[3], offer) || !strings.Contains(lines[3], callum) {
		t.Errorf("offer created line = %q", lines[3])
	}
	if !strings.Contains(lines[4], "open -> offered") || !strings.Contains(lines[6], "offered -> open") {
		t.Errorf("state lines = %q, %q", lines[4], lines[6])
	}

	only, _ := e.watchUntil(1, "--from", "1", "--type", "offer_declined", "--json")
	if len(only) != 1 || !strings.Contains(only[0], `"type":"TYPE_OFFER_DECLINED"`) || !strings.Contains(only[0], offer) {
		t.Errorf("filtered --json watch = %q", only)
	}

	r := e.run("watch", "--type", "offer_exploded")
	if r.code != exitUsage || !strings.HasPrefix(r.stderr, `--type: "offer_exploded" is not an event type`) {
		t.Errorf("bad --type: exit %d, %q", r.code, r.stderr)
	}
}
