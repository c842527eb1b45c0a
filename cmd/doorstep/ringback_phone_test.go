package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestRequestEditPhoneNamesRequestsLeftOnOldNumber: a caller rings to say
// their number has changed, and the helpline records it on the request in
// hand, as the README shows. Their other requests still in hand (a
// prescription logged for them, Callum going for it at the same time)
// keep the old number, so the server no longer knows them for
// one caller's: nothing held the shopping for Callum any more, and
// dispatch sent Aileen to the same door at the same time. The edit names
// each request in hand still on the old number, with the command that
// moves it; requests done or cancelled are history and are not named.
func TestRequestEditPhoneNamesRequestsLeftOnOldNumber(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string // the edit of the shopping
		other   bool     // the prescription named
		cancel  bool     // the prescription cancelled before the edit
		moveAll bool     // the prescription moved too, after the edit
	}{
		{name: "new number", args: []string{"--phone", "07700 900777"}, other: true, moveAll: true},
		{name: "new number, prescription cancelled", args: []string{"--phone", "07700 900777"}, cancel: true},
		{name: "name only", args: []string{"--name", "Alex"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, aileen := e.addVolunteers()
			presc := e.newRequest("--needs", "prescription_collection")
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", presc, callum), "offers"))
			if tc.cancel {
				e.ok("request", "cancel", presc)
			}
			e.env["DOORSTEP_TOKEN"] = e.helpline
			shop := e.newRequest("--needs", "grocery_shopping")
			out := e.ok(append([]string{"request", "edit", shop}, tc.args...)...)
			want := regexp.MustCompile(`(?m)^Note: 01224 123456\b.*` + idOf(presc) + `.*doorstep request edit ` + idOf(presc) + ` --phone '07700 900777'`)
			if got := want.MatchString(out); got != tc.other {
				t.Fatalf("request edit %s:\n%s\nnames the prescription still on the old number: %v, want %v", strings.Join(tc.args, " "), out, got, tc.other)
			}
			if !tc.moveAll {
				return
			}
			// The advice followed: one caller again, so one volunteer at the door.
			e.ok("request", "edit", presc, "--phone", "07700 900777")
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			e.ok("dispatch")
			if offers := e.ok("offer", "list", "--volunteer", aileen); strings.Contains(offers, idOf(shop)) {
				t.Errorf("the shopping was offered to Aileen while Callum goes to the door for the prescription:\n%s", offers)
			}
		})
	}
}
