package matcher

import (
	"fmt"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCrowdAwayBuildCost: the grid is told the away days of each
// volunteer it keeps apart for them (gridOdd.away) wherever the engine
// writes it: when it is built in one go (at the first search, and in
// Compact) and when updates reach a grid already built (an import). Each
// was looked up among all those kept apart in its block, so that a crowd
// at one point (a postcode's centre) cost the square of its size under
// the engine's lock: 40,000 away at one point took 220-380 ms either way,
// where the same not away took 2-6.
func TestCrowdAwayBuildCost(t *testing.T) {
	const n = 40_000
	crowd := func(e *Engine, away bool) {
		for i := range n {
			v := vol(fmt.Sprintf("v%05d", i), 0, 0)
			if away {
				v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 12, Day: 1}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: 3}}}
			}
			if err := e.UpsertVolunteer(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	known := func(e *Engine, stage string, away bool) {
		e.rlock()
		k, _ := checkOddAway(t, stage, e)
		e.mu.RUnlock()
		if away && k != n {
			t.Fatalf("%s: %d of %d away volunteers' days known to the grid", stage, k, n)
		}
	}
	// Imported into a grid already built (freshGrid's updates), then
	// compacted (a build in one go), best of three.
	cost := func(away bool) (imported, compacted time.Duration) {
		e := engineWith(t, vol("first", 5000, 5000))
		e.rlock()
		e.mu.RUnlock()
		crowd(e, away)
		start := time.Now()
		e.rlock()
		e.mu.RUnlock()
		imported = time.Since(start)
		known(e, "imported", away)
		compacted = time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			e.Compact()
			compacted = min(compacted, time.Since(start))
		}
		known(e, "compacted", away)
		return imported, compacted
	}
	i0, c0 := cost(false)
	i1, c1 := cost(true)
	if i1 > 10*i0+20*time.Millisecond {
		t.Errorf("importing %d volunteers at one point into a grid took %v, %v when all are away", n, i0, i1)
	}
	if c1 > 10*c0+20*time.Millisecond {
		t.Errorf("compacting %d volunteers at one point took %v, %v when all are away", n, c0, c1)
	}
}
