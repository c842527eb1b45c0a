package main

import (
	"bytes"
	"context"
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
// closed. With the computer's clock two minutes behind the server's
// (behind), the server judges it ended, and the command had already
// printed "If they decline, these could help:" over nothing: it is said
// in the same words.
func TestCandidatesOfAnEndedRequest(t *testing.T) {
	for _, behind := range []time.Duration{0, 2 * time.Minute} {
		for _, offered := range []bool{false, true} {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			hr := e.newRequest() // tomorrow 10:00-12:00
			if offered {
				e.ok("offer", "make", hr, callum)
			}
			e.clock.advance(27*time.Hour + time.Minute) // 12:01 tomorrow; no sweep yet
			clock := func() time.Time { return e.clock.now().Add(-behind) }
			var out, errOut bytes.Buffer
			code := runAt(context.Background(), []string{"request", "candidates", hr}, e.getenv, strings.NewReader(""), &out, &errOut, clock)
			r := result{stdout: out.String(), stderr: errOut.String(), code: code}
			checkFailure(t, r, true, exitFailed, hr+" was for a time that has passed (it ended 12:00): nobody can be offered it now, and it will be marked expired. Take a new request if the caller still needs help.")
			if strings.Contains(r.stdout+r.stderr, "not free then") || strings.Contains(r.stdout, "could help") {
				t.Errorf("clock behind %v, offered %v: stdout %q", behind, offered, r.stdout)
			}
		}
	}
}
