package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestHelplineFlow takes a request by flags and follows it through
// candidates, an offer, acceptance and fulfilment, comparing each
// command's output with its golden file.
func TestHelplineFlow(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()

	out := e.ok("request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--address", "Flat 2; 12 Union Street",
		"--needs", "shopping prescription", "--window-start", "tomorrow 10:00", "--window-end", "12:00", "--urgency", "high",
		"--details", "Milk and bread; prescription at the Holburn Street chemist", "--skills", "driver",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org, "--external-id", "hl-0001")
	golden(t, "request_new", out)
	req := firstName(t, out, "helpRequests")
	e.clock.advance(time.Minute)
	// A second request from the same caller, by deadline, for find.
	e.ok("request", "new", "--postcode", "AB10 1AB", "--needs", "befriending", "--deadline", "2026-03-12T18:00", "--remote-ok",
		"--name", "Margaret Ironside", "--phone", "+44 1224 123456", "--org", org)
	e.clock.advance(time.Minute)

	golden(t, "request_show_open", e.ok("request", "show", req))
	// The phone split over two arguments, as typed without quotes.
	golden(t, "request_find", e.ok("request", "find", "--phone", "01224", "123456"))
	golden(t, "request_list", e.ok("request", "list", "--near", "AB10", "1AB"))
	golden(t, "request_candidates", e.ok("request", "candidates", req))

	out = e.ok("offer", "make", strings.TrimPrefix(req, "helpRequests/"), callum)
	golden(t, "offer_make", out)
	offer := firstName(t, out, "offers")
	golden(t, "request_show_offered", e.ok("request", "show", req))
	// The volunteer rings back: staff find the offer waiting for them.
	golden(t, "volunteer_show_offered", e.ok("volunteer", "show", callum))
	golden(t, "offer_accept", e.ok("offer", "accept", offer))
	golden(t, "volunteer_show_assigned", e.ok("volunteer", "show", callum))
	golden(t, "request_fulfil", e.ok("request", "fulfil", req))
	// Done: nothing is in force for them any more.
	if out := e.ok("offer", "list", "--volunteer", callum, "--live"); !strings.HasPrefix(out, "No offers in force") {
		t.Errorf("offer list --live after fulfilment = %q", out)
	}

	stored := e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_FULFILLED})
	if len(stored) != 1 || stored[0].Name != req || stored[0].AssignedVolunteer != callum {
		t.Fatalf("fulfilled requests in the store = %v, want %s assigned to %s", stored, req, callum)
	}

	golden(t, "volunteer_pause", e.ok("volunteer", "pause", callum))
	golden(t, "volunteer_show", e.ok("volunteer", "show", callum))
	golden(t, "volunteer_resume", e.ok("volunteer", "resume", callum))
	golden(t, "volunteer_list", e.ok("volunteer", "list", "--near", "AB10"))
	golden(t, "request_show_json", e.ok("request", "show", req, "--json"))
}

// TestJSONOutputIsStableAndParses checks that --json gives the same bytes
// each time and is valid JSON of the right shape.
func TestJSONOutputIsStableAndParses(t *testing.T) {
	e := newTestEnv(t)
	e.newRequest()
	e.newRequest("--external-id", "x-2")
	first := e.ok("request", "list", "--near", "AB10 1AB", "--json")
	for range 3 {
		if again := e.ok("request", "list", "--near", "AB10 1AB", "--json"); again != first {
			t.Fatalf("--json output changed between runs:\n%s\n%s", first, again)
		}
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(first), &list); err != nil {
		t.Fatalf("request list --json: %v\n%s", err, first)
	}
	if len(list) != 2 || list[0]["state"] != "STATE_OPEN" || list[1]["external_id"] != "x-2" {
		t.Errorf("request list --json = %s", first)
	}
	if got := e.ok("request", "list", "--near", "AB11", "--json"); got != "[]\n" {
		t.Errorf("empty list --json = %q, want []", got)
	}
}

// TestCandidatesWhenNobodyLivesNear: with no volunteer in reach, staff are
// told why, with the reach, rather than only that nobody can help.
func TestCandidatesWhenNobodyLivesNear(t *testing.T) {
	e := newTestEnv(t)
	req := e.newRequest()
	want := "Nobody can take this request now.\n\nWhy nobody else: No volunteer lives within 1.5 km.\n"
	if got := e.ok("request", "candidates", req); got != want {
		t.Errorf("request candidates = %q, want %q", got, want)
	}
}

// TestRemoteOkWithShoppingRefusedByName: --remote-ok on a request that also
// needs shopping is refused, saying which option to change, and nothing is
// saved; request edit takes --remote-ok as request new names it.
func TestRemoteOkWithShoppingRefusedByName(t *testing.T) {
	e := newTestEnv(t)
	r := e.run("request", "new", "--postcode", "AB10 1AB", "--needs", "befriending shopping", "--deadline", "2026-03-12T18:00", "--remote-ok",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org, "--yes")
	if r.code == 0 || !strings.Contains(r.stderr, "--remote-ok") || !strings.Contains(r.stderr, "in person") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 0 {
		t.Fatalf("%d requests stored", n)
	}
	req := firstName(t, e.ok("request", "new", "--postcode", "AB10 1AB", "--needs", "befriending", "--deadline", "2026-03-12T18:00",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org, "--yes"), "helpRequests")
	e.ok("request", "edit", req, "--remote-ok")
	if got := e.storedRequests(store.HelpRequestFilter{}); len(got) != 1 || !got[0].RemoteOk {
		t.Errorf("after edit --remote-ok: %v", got)
	}
}
