package main

import (
	"strings"
	"testing"
	"time"
)

// TestRepeatedHourSaysWhichOne: on the night the clocks go back (Sunday 25
// October 2026, 02:00 BST is 01:00 GMT) the hour from 01:00 to 02:00 comes
// twice. An offer made at 01:50 BST with the 30-minute lease runs to 01:20
// GMT; staff read "answer by Sun 25 Oct 01:20", half an hour before the
// time on their own clock, as an offer already lapsed, and a request for
// "sun 00:30-01:30" showed without saying which 01:30 it ends at. A time
// in the hour that comes twice now says which: BST or GMT.
func TestRepeatedHourSaysWhichOne(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	e.ok("volunteer", "edit", callum, "--available", "always")
	e.clock.t = time.Date(2026, 10, 24, 23, 50, 0, 0, time.UTC) // Sun 00:50 BST
	newReq := func(when string) string {
		return firstName(t, e.ok("request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--needs", "grocery_shopping",
			"--when", when, "--details", "Milk", "--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org), "helpRequests")
	}
	hour := newReq("sun 00:30-01:30")
	if out := e.ok("request", "show", hour); !strings.Contains(out, "Sun 25 Oct 00:30-01:30 BST") {
		t.Errorf("request show:\n%s\nwant its window to 01:30 BST, the first", out)
	}
	req := newReq("sun 00:30-04:00")
	e.clock.t = time.Date(2026, 10, 25, 0, 50, 0, 0, time.UTC) // 01:50 BST
	offer := e.ok("offer", "make", req, callum)
	if !strings.Contains(offer, "Sun 25 Oct 01:20 GMT") {
		t.Errorf("offer make:\n%s\nwant its answer by 01:20 GMT", offer)
	}
	if out := e.ok("offer", "list", "--request", req); !strings.Contains(out, "Sun 25 Oct 01:20 GMT") {
		t.Errorf("offer list:\n%s\nwant its answer by 01:20 GMT", out)
	}
	e.asAdmin()
	if out := e.ok("admin", "audit"); !strings.Contains(out, "2026-10-25 01:50:00 BST") {
		t.Errorf("admin audit:\n%s\nwant the offer's reads at 01:50:00 BST", out)
	}
	// An hour that comes once says nothing more.
	if out := e.ok("request", "show", req); strings.Contains(out, "BST") {
		t.Errorf("request show:\n%s\nwant BST only of a time in the repeated hour", out)
	}
}
