package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
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

// TestReleaseByTheVolunteer: a volunteer hands back their own job with
// their own token, which may not ask the server to rank anyone for it,
// nor run request candidates, dispatch or request new. They read what is
// true for them: in time, that it goes back to the coordinators, who
// find someone else; the day after, that nobody else can take it, and
// to tell the coordinators if the caller still needs help (this
// computer's clock is then all there is to judge by).
func TestReleaseByTheVolunteer(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		want  string // after the request's name
	}{
		{0, " is handed back, and you will not be offered it again: the coordinators will find someone else for it.\n"},
		{72 * time.Hour, " is handed back, but its time has passed, so nobody else can take it: it will be marked expired. " +
			"If the caller still needs help, tell the coordinators.\n"},
	} {
		e, callum, req, offer := offeredRequest(t)
		e.ok("offer", "accept", offer)
		e.clock.advance(tc.after)
		e.env["DOORSTEP_TOKEN"] = e.volunteerToken(callum)
		if out := e.ok("request", "release", req); out != req+tc.want {
			t.Errorf("request release %v after the offer, by the volunteer:\n got %q\nwant %q", tc.after, out, req+tc.want)
		}
	}
}

// TestReleaseAfterItsTimeServerDidNotJudge: the helpline hands back a job
// the day after its time, and the server, having taken the release, does
// not answer the question that follows it (restarting, the call rate):
// it has not judged whether the job's time has passed, and this
// computer's clock, a day past it, is what is left to judge by. The
// helpline read "open again ... find someone else", for a job nobody can
// take.
func TestReleaseAfterItsTimeServerDidNotJudge(t *testing.T) {
	e := newTestEnvWith(t, stopping(func(req any) bool {
		_, ok := req.(*pb.FindCandidatesRequest)
		return ok
	}))
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
	e.clock.advance(72 * time.Hour)
	want := req + " is released from Callum Reid (" + callum + "), but its time has passed, so nobody else can take it: it will be marked expired. " +
		"If the caller still needs help, take a new request (doorstep request new).\n"
	if out := e.ok("request", "release", req); out != want {
		t.Errorf("request release after its time, the server not answering after it:\n got %q\nwant %q", out, want)
	}
}

// TestReleaseStoodThoughItsVolunteerNotRead: the server took the release,
// then did not answer the read of the volunteer's name that the words
// after it give (restarting, the call rate). The command failed, exit 1,
// with only that read's error: the worker told the volunteer nothing was
// handed back, and trying again read that nobody has it. The release
// stands and is said, naming the volunteer by their record.
func TestReleaseStoodThoughItsVolunteerNotRead(t *testing.T) {
	e := newTestEnvWith(t, stopping(func(req any) bool {
		_, ok := req.(*pb.GetVolunteerRequest)
		return ok
	}))
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
	r := e.run("request", "release", req)
	want := req + " is open again, and " + callum + " will not be offered it again: find someone else with doorstep request candidates " + idOf(req) + ", or doorstep dispatch.\n"
	if r.code != exitOK || r.stdout != want {
		t.Errorf("request release, the volunteer's read after it failing: exit %d, stderr %q\n got %q\nwant %q", r.code, r.stderr, r.stdout, want)
	}
}

// TestReleaseOneOfTwoStoodThoughNoNameRead: Callum holds both of a
// caller's requests at one door and time and hands one back; the server
// takes the release, then does not answer the reads of his name that the
// words after it give. The release stands and is said, exit 0, naming
// him by his record, with what only a second visitor can do: an error
// there told the helpline nothing was handed back.
func TestReleaseOneOfTwoStoodThoughNoNameRead(t *testing.T) {
	var refuse atomic.Bool
	e := newTestEnvWith(t, stopping(func(req any) bool {
		_, ok := req.(*pb.GetVolunteerRequest)
		return ok && refuse.Load()
	}))
	callum, _ := e.addVolunteers()
	r1, r2 := e.newRequest(), e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", r1, callum), "offers"))
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", r2, callum), "offers"))
	refuse.Store(true)
	r := e.run("request", "release", r2)
	want := r2 + " is open again, and " + callum + " will not be offered it again. " + callum + " is still going to this caller's door then"
	if r.code != exitOK || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "--second-volunteer") {
		t.Errorf("release of one of two at a door, no name read after it: exit %d, stderr %q\n got %q\nwant it to start %q and say --second-volunteer", r.code, r.stderr, r.stdout, want)
	}
}
