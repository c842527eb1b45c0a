package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestRequestRelease: a volunteer rings to say they cannot go after all.
// The helpline hands the request back in one step, is told in one line
// that it is open again, that the volunteer will not be offered it again,
// and how to find someone else; the volunteer is passed over from then on.
func TestRequestRelease(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	id := strings.TrimPrefix(req, "helpRequests/")
	// Not yet accepted: nothing to hand back, and what to do instead.
	checkFailure(t, e.run("request", "release", req), true, exitFailed,
		"Not released: "+req+" is offered, not yet accepted: if the volunteer cannot take it, decline the offer (doorstep offer decline) (WRONG_STATE).")
	e.ok("offer", "accept", offer)

	out := e.ok("request", "release", id)
	want := req + " is open again, and Callum Reid (" + callum + ") will not be offered it again: " +
		"find someone else with doorstep request candidates " + id + ", or doorstep dispatch.\n"
	if out != want {
		t.Errorf("request release:\n got %q\nwant %q", out, want)
	}
	stored := e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN})
	if len(stored) != 1 || stored[0].Name != req || stored[0].AssignedVolunteer != "" || !slices.Equal(stored[0].DeclinedVolunteers, []string{callum}) {
		t.Fatalf("open requests in the store = %v, want %s with nobody assigned and %s declined", stored, req, callum)
	}
	if out := e.ok("volunteer", "show", callum); !strings.Contains(out, "0 assigned") {
		t.Errorf("volunteer show after release:\n%s\nwant nothing assigned", out)
	}
	if out := e.ok("request", "show", req); !regexp.MustCompile(`\nNot offered again +` + callum + ` \(declined, let an offer lapse, or handed it back\)\n`).MatchString(out) {
		t.Errorf("request show after release:\n%s\nwant the volunteer who handed it back", out)
	}
	if out := e.ok("request", "candidates", req); strings.Contains(out, strings.TrimPrefix(callum, "volunteers/")) {
		t.Errorf("request candidates after release lists the volunteer who handed it back:\n%s", out)
	}
	// Twice: it is open, and says so.
	checkFailure(t, e.run("request", "release", req), true, exitFailed,
		"Not released: "+req+" is open: nobody has it to hand back (WRONG_STATE).")

	// Spelt as people say it, and for scripts.
	aileen := "volunteers/" + idRE.FindString(e.ok("volunteer", "find", "--phone", "07700 900456"))
	offer = firstName(t, e.ok("offer", "make", req, aileen), "offers")
	e.ok("offer", "accept", offer)
	out = e.ok("--json", "request", "unassign", req)
	if !strings.Contains(out, `"STATE_OPEN"`) || !strings.Contains(out, aileen) {
		t.Errorf("request unassign --json = %s", out)
	}
}

// TestReleaseOneOfTwoAtADoor: Callum holds both of a caller's requests at
// one door and time, and hands one back (he can do the shopping, not the
// lift). He still goes to the door for the other, so the one handed back
// can go to someone else only if the caller agrees to a second visitor:
// the helpline is told that, not to offer it to Callum, who is never
// offered it again.
func TestReleaseOneOfTwoAtADoor(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	e.ok("volunteer", "edit", callum, "--capacity", "2")
	r1, r2 := e.newRequest(), e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", r1, callum), "offers"))
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", r2, callum), "offers"))
	out := e.ok("request", "release", r2)
	if strings.Contains(out, "doorstep dispatch") || !strings.Contains(out, "--second-volunteer") {
		t.Errorf("release of one of two at a door:\n%s\nwant it to say that only a second visitor can take it, by hand", out)
	}
	r := e.run("offer", "make", r2, aileen)
	if r.code != exitFailed || strings.Contains(r.stderr, "Offer this one to them too") || !strings.Contains(r.stderr, "--second-volunteer") {
		t.Errorf("offer to another after the release: exit %d, stderr %q; want --second-volunteer, not an offer to Callum", r.code, r.stderr)
	}
	if out := e.ok("offer", "make", r2, aileen, "--second-volunteer"); !strings.Contains(out, "Aileen Watt") {
		t.Errorf("offer make --second-volunteer:\n%s", out)
	}
}

// TestReleaseAfterItsTime: a volunteer rings the day after to say they
// never went. Handing the job back is right, but nobody else can take a
// time gone by: the helpline is told so, not to find someone else.
func TestReleaseAfterItsTime(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	e.clock.advance(72 * time.Hour)
	out := e.ok("request", "release", req)
	want := req + " is released from Callum Reid (" + callum + "), but its time has passed, so nobody else can take it: it will be marked expired. " +
		"If the caller still needs help, take a new request (doorstep request new).\n"
	if out != want {
		t.Errorf("request release after its time:\n got %q\nwant %q", out, want)
	}
}

// TestReleaseNamesWhoHandedItBackLast: a job handed back twice, by
// Callum and then by Aileen, whom the helpline offered it to next. The
// second release names Aileen, who joined the request's declined last:
// naming Callum, the helpline would ring the wrong volunteer to say they
// are free of it.
func TestReleaseNamesWhoHandedItBackLast(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	e.ok("request", "release", req)
	aileen := "volunteers/" + idRE.FindString(e.ok("volunteer", "find", "--phone", "07700 900456"))
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, aileen), "offers"))
	out := e.ok("request", "release", req)
	want := req + " is open again, and Aileen Watt (" + aileen + ") will not be offered it again: " +
		"find someone else with doorstep request candidates " + idOf(req) + ", or doorstep dispatch.\n"
	if out != want {
		t.Errorf("second release, after %s's:\n got %q\nwant %q", callum, out, want)
	}
}
