package matcher

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestEveningSearchMatchesBruteForce: searches whose window misses the
// day's hours (gridBlock.late: an evening, maybe into the night), which
// read only the cells holding someone who may be free then, give exactly
// what checking everyone does, remote or not, through updates and
// removals that leave the cells' bits claiming more than they hold, and
// after a rebuild that drops them.
func TestEveningSearchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	e, write := tagMixEngine(t, 1500)
	rev := 1500
	filtered, passed := 0, 0
	compare := func(stage string, reqs int) {
		for range reqs {
			r := tagMixRequest(rng)
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
			// From 16:00 to 23:45 on any day, for up to ten hours.
			start := monday.Add(time.Duration(rng.IntN(7))*24*time.Hour + time.Duration(16*4+rng.IntN(32))*15*time.Minute)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(40)) * 15 * time.Minute))}}
			if rng.IntN(3) == 0 {
				r.RemoteOk = true
			}
			k := []int{1, 5, 20, 60}[rng.IntN(4)]
			got, err1 := e.FindCandidates(r, nil, k, now)
			want, err2 := bruteFind(e, r, k)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !slices.Equal(got.Exclusions, want.Exclusions) || len(got.Candidates) != len(want.Candidates) {
				t.Fatalf("%s: %v remote=%v k=%d: got %v / %v, want %v / %v", stage, r.Needs, r.RemoteOk, k, names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
			}
			sameCandidates(t, stage, got.Candidates, want.Candidates)
			e.rlock()
			checkAggregates(t, stage, e.grid)
			q, _ := e.prepare(r, nil, now)
			if l := lateIndex(q); l > 0 {
				filtered++
				for _, b := range e.grid.blocks[1:] {
					for row := range b.occ {
						if b.occ[row]&^b.late[l-1][row] != 0 {
							passed++
						}
					}
				}
			}
			e.mu.RUnlock()
		}
	}
	compare("fresh", 200)
	churn(e, rng, 1700, rev, 3000, 5, 500, write, nil, func(stage string) { compare(stage, 30) })
	compare("compacted", 400)
	// The comparison means something only if most searches could pass
	// cells over, and did have cells to pass over.
	if filtered < 500 || passed < 10*filtered {
		t.Fatalf("only %d searches used the evening bits, with %d rows of cells passed over", filtered, passed)
	}
	t.Logf("%d searches used the evening bits, %d rows of cells passed over", filtered, passed)
}
