package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestCandidatesOfAnEndedRequestClockBehind: the command judges by its
// own clock whether a request's time has passed, the server by its. With
// the computer's clock a minute or two behind the server's, the server
// refused the request as ended and the command had already printed, of
// one offered, "If they decline, these could help:", then the server's
// words: staff read that others could help, over nothing. The server's
// refusal is said as the command's own judgement is.
func TestCandidatesOfAnEndedRequestClockBehind(t *testing.T) {
	for _, offered := range []bool{false, true} {
		e := newTestEnv(t)
		callum, _ := e.addVolunteers()
		hr := e.newRequest() // tomorrow 10:00-12:00
		if offered {
			e.ok("offer", "make", hr, callum)
		}
		e.clock.advance(27*time.Hour + time.Minute) // 12:01 tomorrow; no sweep yet
		behind := func() time.Time { return e.clock.now().Add(-2 * time.Minute) }
		var out, errOut bytes.Buffer
		code := runAt(context.Background(), []string{"request", "candidates", hr}, e.getenv, strings.NewReader(""), &out, &errOut, behind)
		r := result{stdout: out.String(), stderr: errOut.String(), code: code}
		checkFailure(t, r, true, exitFailed, hr+" was for a time that has passed (it ended 12:00): nobody can be offered it now, and it will be marked expired. Take a new request if the caller still needs help.")
		if strings.Contains(r.stdout, "could help") {
			t.Errorf("offered %v: stdout %q", offered, r.stdout)
		}
	}
}

// TestCandidatesOfARequestNotEndedClockAhead: with the computer's clock
// two minutes ahead of the server's, a request whose window had a minute
// to run read as one whose time had passed, "nobody can be offered it
// now", where the server ranked its volunteers and took an offer of it:
// the helpline let go a caller still to be helped. The server judges.
func TestCandidatesOfARequestNotEndedClockAhead(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	hr := e.newRequest()                        // tomorrow 10:00-12:00
	e.clock.advance(27*time.Hour - time.Minute) // 11:59 tomorrow by the server's clock
	ahead := func() time.Time { return e.clock.now().Add(2 * time.Minute) }
	var out, errOut bytes.Buffer
	code := runAt(context.Background(), []string{"request", "candidates", hr}, e.getenv, strings.NewReader(""), &out, &errOut, ahead)
	if code != exitOK || !strings.Contains(out.String(), idOf(callum)) {
		t.Errorf("exit %d, stdout %q, stderr %q; want Callum ranked", code, out.String(), errOut.String())
	}
}
