package main

import (
	"strings"
	"testing"
	"time"
)

// TestCandidatesOfAnEndedRequest: a request whose time has passed reads
// open or offered until the server's sweep marks it expired. request
// candidates then said "Why nobody else: 2 are not free then", or, offered,
// "If they decline, these could help:" over nobody, and staff went on
// looking for a volunteer free for a time gone. It says when the time
// ended and that nobody can be offered it, as it does of a request
// closed.
func TestCandidatesOfAnEndedRequest(t *testing.T) {
	for _, offered := range []bool{false, true} {
		e := newTestEnv(t)
		callum, _ := e.addVolunteers()
		hr := e.newRequest() // tomorrow 10:00-12:00
		if offered {
			e.ok("offer", "make", hr, callum)
		}
		e.clock.advance(27*time.Hour + time.Minute) // 12:01 tomorrow; no sweep yet
		r := e.run("request", "candidates", hr)
		checkFailure(t, r, true, exitFailed, hr+" was for a time that has passed (it ended 12:00): nobody can be offered it now, and it will be marked expired. Take a new request if the caller still needs help.")
		if strings.Contains(r.stdout+r.stderr, "not free then") || strings.Contains(r.stdout, "could help") {
			t.Errorf("offered %v: stdout %q", offered, r.stdout)
		}
	}
}
