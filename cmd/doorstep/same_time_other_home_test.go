package main

import (
	"strings"
	"testing"
)

// TestRequestNewSameTimeAnotherHome: a care worker rings for two of her
// clients from her work mobile, each at their own home, for the same
// morning. Saving the second, the helpline was told "the caller has
// another request for that time ... If it is the same need, cancel one",
// naming the other client's request: one cancelled on that word leaves
// someone without the help they asked for. Two homes are two needs; the
// same home twice is still said.
func TestRequestNewSameTimeAnotherHome(t *testing.T) {
	e := newTestEnv(t)
	const work = "07700 900555"
	brown := e.ok("request", "new", "--postcode", "AB10 1AB", "--street", "Union Street", "--needs", "grocery_shopping", "--when", "tomorrow 10:00-12:00",
		"--name", "Mr Brown", "--phone", work, "--org", org)
	grey := e.ok("request", "new", "--postcode", "AB10 1AF", "--street", "Correction Wynd", "--needs", "grocery_shopping", "--when", "tomorrow 10:00-12:00",
		"--name", "Mrs Grey", "--phone", work, "--org", org)
	if strings.Contains(grey, "Note: the caller has another request") {
		t.Errorf("Mrs Grey's request, at another home, is said to be the caller's second for that time:\n%s", grey)
	}
	again := e.ok("request", "new", "--postcode", "AB10 1AB", "--street", "Union Street", "--needs", "grocery_shopping", "--when", "tomorrow 11:00-12:00",
		"--name", "Mr Brown", "--phone", work, "--org", org)
	if want := sameTimeNote(firstName(t, brown, "helpRequests")); !strings.Contains(again, want) {
		t.Errorf("Mr Brown's second request for that morning printed:\n%s\nwant %q", again, want)
	}
}
