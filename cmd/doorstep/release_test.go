package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

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
