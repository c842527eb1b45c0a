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
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	open := e.newRequest("--urgency", "critical")
	offered := e.newRequest("--phone", "01224 123457", "--name", "Ian Duthie")
	e.ok("offer", "make", offered, callum)
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
