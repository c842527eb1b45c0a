package main

import (
	"strings"
	"testing"
	"time"
)

// TestCandidatesOfALapsedOffer: an offer whose lease has run out stays on
// its request until the server's sweep comes to it (15 s by default,
// longer if set so). request candidates then read "offered to Callum
// Reid until 10:30. If they decline, ..." at 10:40, and staff waited on
// an answer that can no longer be given. It says the time to answer has
// passed and that the request goes back to open.
func TestCandidatesOfALapsedOffer(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	hr := e.newRequest() // tomorrow 10:00-12:00
	e.ok("offer", "make", hr, callum)
	until := e.ok("request", "candidates", hr)
	if !strings.Contains(until, "is offered to") || !strings.Contains(until, "If they decline") {
		t.Fatalf("before the lease ran out: %q", until)
	}
	e.clock.advance(31 * time.Minute) // past the half hour's lease; no sweep yet
	out := e.ok("request", "candidates", hr)
	if strings.Contains(out, "is offered to") || strings.Contains(out, "If they decline") {
		t.Errorf("a lapsed offer read as in hand: %q", out)
	}
	if !strings.Contains(out, "who did not answer by") || !strings.Contains(out, "goes back to open") {
		t.Errorf("a lapsed offer not said to have run out: %q", out)
	}
}
