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

// BenchmarkCrowdAway: volunteers at one point, away or not, which should
// cost alike: 40,000 imported into a built grid, then compacted
// ("import"); 20,000 imported again, each an update ("reimport": 88 ms
// against 1 before a block's long odd list was indexed).
func BenchmarkCrowdAway(b *testing.B) {
	for _, tc := range []struct {
		name    string
		n       int
		again   bool // each an update of one already in the grid
		compact bool
	}{
		{"import", 40_000, false, true},
		{"reimport", 20_000, true, false},
	} {
		for _, away := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/away=%v", tc.name, away), func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					e := engineWith(b, vol("first", 5000, 5000))
					e.rlock()
					e.mu.RUnlock()
					if tc.again {
						crowdAway(b, e, tc.n, away)
						e.rlock()
						e.mu.RUnlock()
					}
					crowdAway(b, e, tc.n, away)
					b.StartTimer()
					e.rlock() // the updates reach the grid
					e.mu.RUnlock()
					if tc.compact {
						e.Compact()
					}
				}
			})
		}
	}
}
