package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestReleaseAroundItsEndClockSkew: a volunteer rings a minute either
// side of the end of their job's time to hand it back. Whether anyone
// else can take it is the server's judgement (it ranks volunteers for
// it, and takes an offer of it, until its clock passes the end), not
// that of the helpline's computer, whose clock may be a minute behind or
// two ahead of it. Behind, a job ended by the server's clock read "open
// again ... find someone else with doorstep request candidates", which
// then refused it; ahead, one with a minute to run read "nobody else can
// take it", and a caller still to be helped was let go. What the release
// says, request candidates, asked next on the same computer, bears out.
func TestReleaseAroundItsEndClockSkew(t *testing.T) {
	for _, tc := range []struct {
		server time.Duration // after the request's making: its window ends at 27h
		skew   time.Duration // the computer's clock less the server's
		ended  bool
	}{
		{27*time.Hour + 30*time.Second, -time.Minute, true},
		{27*time.Hour + 30*time.Second, 2 * time.Minute, true},
		{27*time.Hour - 30*time.Second, -time.Minute, false},
		{27*time.Hour - 30*time.Second, 2 * time.Minute, false},
	} {
		e := newTestEnv(t)
		callum, aileen := e.addVolunteers()
		hr := e.newRequest() // tomorrow 10:00-12:00
		e.ok("offer", "accept", firstName(t, e.ok("offer", "make", hr, callum), "offers"))
		e.clock.advance(tc.server) // no sweep yet
		clock := func() time.Time { return e.clock.now().Add(tc.skew) }
		run := func(args ...string) result {
			var out, errOut bytes.Buffer
			code := runAt(context.Background(), args, e.getenv, strings.NewReader(""), &out, &errOut, clock)
			return result{stdout: out.String(), stderr: errOut.String(), code: code}
		}
		id := idOf(hr)
		released := run("request", "release", hr)
		candidates := run("request", "candidates", hr)
		var want string
		if tc.ended {
			want = hr + " is released from Callum Reid (" + callum + "), but its time has passed, so nobody else can take it: it will be marked expired. " +
				"If the caller still needs help, take a new request (doorstep request new).\n"
		} else {
			want = hr + " is open again, and Callum Reid (" + callum + ") will not be offered it again: " +
				"find someone else with doorstep request candidates " + id + ", or doorstep dispatch.\n"
		}
		if released.code != exitOK || released.stdout != want {
			t.Errorf("server %v, computer %+v: release exit %d, stderr %q\n got %q\nwant %q", tc.server, tc.skew, released.code, released.stderr, released.stdout, want)
		}
		if ranked := candidates.code == exitOK && strings.Contains(candidates.stdout, idOf(aileen)); ranked == tc.ended {
			t.Errorf("server %v, computer %+v: request candidates after the release: exit %d, stdout %q, stderr %q; want Aileen ranked %v",
				tc.server, tc.skew, candidates.code, candidates.stdout, candidates.stderr, !tc.ended)
		}
	}
}

// TestReleaseAfterItsTimeByTheVolunteer: a volunteer hands back their own
// job the day after, with their own token, which may not ask the server
// to rank anyone for it: this computer's clock is then all there is to
// judge by, and it is still told that nobody else can take it, not to
// find someone else.
func TestReleaseAfterItsTimeByTheVolunteer(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	e.clock.advance(72 * time.Hour)
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken(callum)
	out := e.ok("request", "release", req)
	if !strings.Contains(out, "its time has passed, so nobody else can take it") {
		t.Errorf("request release after its time, by the volunteer:\n%s", out)
	}
}
