package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

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
