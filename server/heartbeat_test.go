package server_test

import (
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestQuietStreamHeartbeat: a stream on a server where nothing happens
// still hears from it now and then, so that a proxy between (nginx cuts a
// gRPC stream silent for 60 s) does not take it for idle; with changes
// hidden by nothing, the revision it is told stays where it was.
func TestQuietStreamHeartbeat(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(10*time.Millisecond, time.Minute), server.WithWatchHeartbeat(50*time.Millisecond))
	w := h.watch(pb.NewEventServiceClient(h.conn), &pb.WatchEventsRequest{})
	h.waitFor(w, 0)
	_, start := w.events()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		n := len(w.resps)
		w.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a quiet stream got %d responses in 10 s, want a heartbeat every 50 ms", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	evs, rev := w.events()
	if len(evs) != 0 || rev != start {
		t.Errorf("heartbeats told %d events and revision %d, want none and %d", len(evs), rev, start)
	}
}
