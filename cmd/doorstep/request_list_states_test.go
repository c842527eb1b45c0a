package main

import (
	"strings"
	"testing"
)

// TestRequestListStateRepeated: a coordinator who names two states as
// two options (--state open --state offered), as "several --state" reads,
// was shown the offered ones alone, the open request missing without a
// word; each --state given adds its states.
func TestRequestListStateRepeated(t *testing.T) {
	e, open, offered := openAndOffered(t)
	out := e.ok("request", "list", "--state", "open", "--state", "offered")
	for _, id := range []string{open, offered} {
		if !strings.Contains(out, idOf(id)) {
			t.Errorf("request list --state open --state offered leaves out %s:\n%s", id, out)
		}
	}
	// One --state still replaces the default, in hand.
	if out := e.ok("request", "list", "--state", "offered"); strings.Contains(out, idOf(open)) || !strings.Contains(out, idOf(offered)) {
		t.Errorf("request list --state offered:\n%s", out)
	}
}

// TestRequestListStatesUnquoted: "--state open offered" without quotes
// (or commas) took "offered" for a postcode, and staff met a postcode
// error they never typed, or nothing listed; state words after the
// options are states, and a real place still is a place.
func TestRequestListStatesUnquoted(t *testing.T) {
	e, open, offered := openAndOffered(t)
	tests := []struct {
		args      []string
		in, notIn []string
	}{
		{[]string{"--state", "open", "offered"}, []string{open, offered}, nil},
		{[]string{"open"}, []string{open}, []string{offered}},
		{[]string{"offered", "open"}, []string{open, offered}, nil},
	}
	for _, tc := range tests {
		out := e.ok(append([]string{"request", "list"}, tc.args...)...)
		for _, id := range tc.in {
			if !strings.Contains(out, idOf(id)) {
				t.Errorf("request list %v leaves out %s:\n%s", tc.args, id, out)
			}
		}
		for _, id := range tc.notIn {
			if strings.Contains(out, idOf(id)) {
				t.Errorf("request list %v lists %s:\n%s", tc.args, id, out)
			}
		}
	}
}

// TestRequestListJoiningWordAlone: "request list open or offered" read
// its loose "or" as a state list with nothing in it, which is every
// state: the closed requests were listed with those asked for.
func TestRequestListJoiningWordAlone(t *testing.T) {
	e, open, offered := openAndOffered(t)
	closed := e.newRequest("--phone", "01224 123458", "--name", "Jean Stewart")
	e.ok("request", "cancel", closed)
	for _, args := range [][]string{{"open", "or", "offered"}, {"--state", "open", "and", "offered"}, {"or"}} {
		out := e.ok(append([]string{"request", "list"}, args...)...)
		if strings.Contains(out, idOf(closed)) {
			t.Errorf("request list %v lists the cancelled request:\n%s", args, out)
		}
		for _, id := range []string{open, offered} {
			if !strings.Contains(out, idOf(id)) {
				t.Errorf("request list %v leaves out %s:\n%s", args, id, out)
			}
		}
	}
}

// openAndOffered is a test env with a critical open request and another
// offered to Callum.
func openAndOffered(t *testing.T) (e *testEnv, open, offered string) {
	t.Helper()
	e = newTestEnv(t)
	callum, _ := e.addVolunteers()
	open = e.newRequest("--urgency", "critical")
	offered = e.newRequest("--phone", "01224 123457", "--name", "Ian Duthie")
	e.ok("offer", "make", offered, callum)
	return e, open, offered
}
