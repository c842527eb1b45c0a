package matcher

import (
	"fmt"
	"testing"
)

// A crowd away at one point that reaches a built grid again (a partner's
// roster imported anew, each volunteer an update) or leaves it (erased one
// by one) had each point looked for among its block's odd ones from the
// first (gridHist.remove): the square of the crowd under the engine's
// lock, 40,000 re-imported 390 ms where the same not away took 2.
// TestCrowdAwayReimport holds that every one's days are still told and
// the odd lists right through both (checkOddAt holds the index of a long
// list); the cost is BenchmarkCrowdAway/reimport's, against the same crowd
// not away (a timed test would fail on a busy machine).
func TestCrowdAwayReimport(t *testing.T) {
	const n = 5_000
	e := engineWith(t, vol("first", 5000, 5000))
	e.rlock()
	e.mu.RUnlock()
	crowdAway(t, e, n, true)
	crowdAway(t, e, n, true) // each an update of the one before
	e.rlock()
	k, _ := checkOddAway(t, "re-imported", e)
	checkOddAt(t, "re-imported", e.grid)
	e.mu.RUnlock()
	if k != n {
		t.Fatalf("re-imported: %d of %d away volunteers' days known to the grid", k, n)
	}
	for i := range n / 2 {
		e.RemoveVolunteer(fmt.Sprintf("volunteers/v%05d", i*2))
	}
	crowdAway(t, e, n/4, true) // back, some of them
	e.rlock()
	k, _ = checkOddAway(t, "removed and back", e)
	checkOddAt(t, "removed and back", e.grid)
	e.mu.RUnlock()
	if want := n/2 + n/8; k != want {
		t.Fatalf("removed and back: %d of %d away volunteers' days known to the grid", k, want)
	}
}

// checkOddAt holds each block's index of its odd points to where they are.
func checkOddAt(t *testing.T, stage string, g *Grid) {
	t.Helper()
	for _, b := range g.blocks[1:] {
		h := &g.hists[b.index]
		if h.oddAt == nil {
			if len(h.odd) > gridOddIndexed {
				t.Fatalf("%s: block (%d,%d) has %d odd points, unindexed", stage, b.by, b.bx, len(h.odd))
			}
			continue
		}
		if len(h.oddAt) != len(h.odd) {
			t.Fatalf("%s: block (%d,%d) indexes %d odd points of %d", stage, b.by, b.bx, len(h.oddAt), len(h.odd))
		}
		for i, o := range h.odd {
			if at, ok := h.oddAt[o.id]; !ok || int(at) != i {
				t.Fatalf("%s: block (%d,%d): point %d is at %d, indexed at %d (%t)", stage, b.by, b.bx, o.id, i, at, ok)
			}
		}
	}
}
