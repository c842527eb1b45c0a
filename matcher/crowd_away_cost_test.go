package matcher

import (
	"fmt"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// The grid is told the away days of each volunteer it keeps apart for
// them (gridOdd.away) wherever the engine writes it: when it is built in
// one go (at the first search, and in Compact) and when updates reach a
// grid already built (an import). Each was looked up among all those kept
// apart in its block, so that a crowd at one point (a postcode's centre)
// cost the square of its size under the engine's lock: 40,000 away at one
// point took 220-380 ms either way, where the same not away took 2-6.
// TestCrowdAwayKnown holds that every one of them is told; the cost is
// BenchmarkCrowdAway's (a timed test would fail on a busy machine).

// crowdAway upserts n volunteers at one point into e, away or not.
func crowdAway(tb testing.TB, e *Engine, n int, away bool) {
	tb.Helper()
	for i := range n {
		v := vol(fmt.Sprintf("v%05d", i), 0, 0)
		if away {
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 12, Day: 1}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: 3}}}
		}
		if err := e.UpsertVolunteer(v); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestCrowdAwayKnown(t *testing.T) {
	const n = 5_000
	e := engineWith(t, vol("first", 5000, 5000))
	e.rlock() // the grid built: the crowd comes as updates
	e.mu.RUnlock()
	crowdAway(t, e, n, true)
	for _, stage := range []string{"imported", "compacted"} {
		if stage == "compacted" {
			e.Compact()
		}
		e.rlock()
		k, _ := checkOddAway(t, stage, e)
		e.mu.RUnlock()
		if k != n {
			t.Fatalf("%s: %d of %d away volunteers' days known to the grid", stage, k, n)
		}
	}
}

// BenchmarkCrowdAway: 40,000 volunteers at one point imported into a
// built grid, then compacted, away or not; the two should cost alike.
func BenchmarkCrowdAway(b *testing.B) {
	for _, away := range []bool{false, true} {
		b.Run(fmt.Sprintf("away=%v", away), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e := engineWith(b, vol("first", 5000, 5000))
				e.rlock()
				e.mu.RUnlock()
				crowdAway(b, e, 40_000, away)
				b.StartTimer()
				e.rlock() // the updates reach the grid
				e.mu.RUnlock()
				e.Compact()
			}
		})
	}
}
