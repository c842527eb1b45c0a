package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestRequestEditMoveNamesRequestsLeftAtOldAddress: a caller moves to
// another flat in the same street and the helpline records the new
// address on the request in hand. Their other request in hand (a
// prescription, Callum going for it) still held the old flat, unsaid,
// and Callum would have knocked at a door the caller had left. The edit
// names each request in hand of the caller still at the old address,
// with the command that moves it; one elsewhere (a lift from the surgery)
// is not named.
func TestRequestEditMoveNamesRequestsLeftAtOldAddress(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string // the edit of the shopping
		named bool
	}{
		{name: "another flat", args: []string{"--address", "Flat 7; 12 Union Street"}, named: true},
		{name: "another postcode", args: []string{"--postcode", "AB10 1AF", "--street", "Union Street", "--address", "3 Union Street"}, named: true},
		{name: "details only", args: []string{"--details", "Bread"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			presc := e.newRequest("--needs", "prescription_collection")
			elsewhere := e.newRequest("--needs", "errands", "--postcode", "AB10 1AF", "--street", "Correction Wynd", "--address", "Surgery",
				"--when", "tomorrow 14:00-16:00", "--details", "Post a letter")
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", presc, callum), "offers"))
			e.env["DOORSTEP_TOKEN"] = e.helpline
			shop := e.newRequest("--needs", "grocery_shopping")
			out := e.ok(append([]string{"request", "edit", shop}, tc.args...)...)
			want := regexp.MustCompile(`(?m)^Note: .*` + idOf(presc) + `.*Flat 2, 12 Union Street.*doorstep request edit ` + idOf(presc) + ` `)
			if got := want.MatchString(out); got != tc.named {
				t.Errorf("request edit %s:\n%s\nnames the prescription still at the old flat: %v, want %v", strings.Join(tc.args, " "), out, got, tc.named)
			}
			if strings.Contains(out, idOf(elsewhere)) {
				t.Errorf("request edit %s:\n%s\nnames the errand at another address", strings.Join(tc.args, " "), out)
			}
		})
	}
}
