package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAwayAndGroupsThroughEdits: remote calls (and a few requests at the
// door), at night (across local midnight, and across the clocks
// changing) and by day, find and count
// exactly what checking everyone finds, and what an engine built afresh
// from the same volunteers finds, through a long run of edits of one
// field at a time: a move (in place and far), new slots, away dates added,
// removed and rewritten (one span, spans that join into one, spans with a
// gap, an inverted one, spans over the clocks changing), a time zone
// changed, a job taken and ended, a pause, a removal and a re-add under
// the same name, and compactions. Each edit can change a block's
// aggregate (Grid.aggs, Grid.groups) or an odd point's away days
// (gridOdd.away) without the others changing.
func TestAwayAndGroupsThroughEdits(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	const n = 1500
	date := func(y, m, d int) *pb.Date { return &pb.Date{Year: int32(y), Month: int32(m), Day: int32(d)} }
	awayChoices := [][]*pb.DateRange{
		nil,
		{{StartDate: date(2026, 11, 30), EndDate: date(2026, 12, 2)}},
		{{StartDate: date(2026, 12, 1), EndDate: date(2026, 12, 1)}},
		{{StartDate: date(2026, 12, 3), EndDate: date(2026, 12, 6)}, {StartDate: date(2026, 11, 29), EndDate: date(2026, 12, 2)}},  // joins into one
		{{StartDate: date(2026, 11, 30), EndDate: date(2026, 11, 30)}, {StartDate: date(2026, 12, 2), EndDate: date(2026, 12, 3)}}, // a gap
		{{StartDate: date(2026, 12, 4), EndDate: date(2026, 12, 1)}},                                                               // inverted
		{{StartDate: date(2027, 3, 27), EndDate: date(2027, 3, 28)}},                                                               // the clocks go forward
		{{StartDate: date(2027, 3, 28), EndDate: date(2027, 3, 29)}, {StartDate: date(2026, 12, 1), EndDate: date(2026, 12, 2)}},
		{{StartDate: date(2026, 12, 2), EndDate: date(2027, 3, 30)}},
	}
	zones := []string{"Europe/London", "Europe/London", "Europe/London", "Europe/London", "America/New_York", "Europe/Dublin"}
	// Only the first few hundred are ever free at night or in another
	// time zone: while they are gone, a call at night is hopeless in
	// every block.
	const odd = 300 // the last 300
	zoneOf := func(i int, r *rand.Rand) string {
		if i < n-odd {
			return "Europe/London"
		}
		return zones[r.IntN(len(zones))]
	}
	slotsOf := func(i int, r *rand.Rand) []*pb.AvailabilitySlot {
		var out []*pb.AvailabilitySlot
		night := i >= n-odd && r.IntN(10) == 0
		for d := range 7 {
			if r.IntN(2) == 0 {
				continue
			}
			from := 7 + r.Int32N(8)
			if night {
				from = 1
			}
			out = append(out, &pb.AvailabilitySlot{Day: pb.DayOfWeek(d + 1), StartTime: &pb.TimeOfDay{Hours: from}, EndTime: &pb.TimeOfDay{Hours: from + 1 + r.Int32N(3)}})
		}
		return out
	}
	jobsOf := func(r *rand.Rand) []*pb.Commitment {
		var out []*pb.Commitment
		for range r.IntN(3) {
			start := monday.Add(time.Duration(r.IntN(7*24)) * time.Hour)
			out = append(out, &pb.Commitment{
				HelpRequest: fmt.Sprintf("helpRequests/held%d", r.IntN(1000)),
				Window:      &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+r.IntN(3)) * time.Hour))},
				Needs:       []pb.Need{pb.Need_NEED_BEFRIENDING_CALL},
			})
		}
		return out
	}
	// Homes over 60 km (hundreds of blocks, many groups), half of them in
	// a few clusters; the odd few in clusters of their own, so that some
	// groups of blocks are hopeless at night and others not.
	centres := make([][2]float64, 12)
	for i := range centres {
		centres[i] = [2]float64{rng.Float64()*60000 - 30000, rng.Float64()*60000 - 30000}
	}
	place := func(i int, r *rand.Rand) *pb.LatLng {
		var dn, de float64
		switch {
		case i >= n-odd:
			c := centres[r.IntN(2)]
			dn, de = c[0]+r.NormFloat64()*1500, c[1]+r.NormFloat64()*1500
		case r.IntN(2) == 0:
			c := centres[2+r.IntN(len(centres)-2)]
			dn, de = c[0]+r.NormFloat64()*1500, c[1]+r.NormFloat64()*1500
		default:
			dn, de = r.Float64()*60000-30000, r.Float64()*60000-30000
		}
		lat, lng := offset(dn, de)
		return &pb.LatLng{Latitude: lat, Longitude: lng}
	}
	fresh := func(i int, r *rand.Rand) *pb.Volunteer {
		v := vol(fmt.Sprintf("v%04d", i), 0, 0, func(v *pb.Volunteer) {
			v.Home.LatLng = place(i, r)
			v.Paused = r.IntN(15) == 0
			v.Capacity = 2
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DbsLevel(r.IntN(4))}
			v.Availability = &pb.Availability{TimeZone: zoneOf(i, r), Weekly: slotsOf(i, r), Away: awayChoices[r.IntN(len(awayChoices))]}
			if r.IntN(3) == 0 {
				v.Commitments = jobsOf(r)
			}
		})
		return v
	}

	e := NewEngine(DefaultConfig())
	cur := make([]*pb.Volunteer, n) // nil: removed
	rev := 0
	put := func(i int, v *pb.Volunteer) {
		rev++
		v.Etag = fmt.Sprint(rev)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		cur[i] = v
	}
	for i := range n {
		put(i, fresh(i, rng))
	}

	known, byKinds, everywhere, groups, rebuilds := 0, 0, 0, 0, 0
	request := func() *pb.HelpRequest {
		r := req(func(r *pb.HelpRequest) {
			r.Needs, r.RemoteOk, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, false
			if rng.IntN(4) == 0 { // and some at the door, within 5 km
				r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}, false
			}
		})
		// Midnight in London, on a day of the week of the tests or on
		// the night the clocks go forward.
		day := monday.Add(time.Duration(rng.IntN(8)) * 24 * time.Hour)
		if rng.IntN(4) == 0 {
			day = time.Date(2027, 3, 27+rng.IntN(3), 0, 0, 0, 0, time.UTC)
		}
		hour := []int{-2, -1, 0, 1, 22, 23, 10, 14}[rng.IntN(8)]
		start := day.Add(time.Duration(hour)*time.Hour + time.Duration(rng.IntN(4))*15*time.Minute)
		end := start.Add(time.Duration(1+rng.IntN(4)) * time.Hour)
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)}}
		r.Location.LatLng = place(rng.IntN(n), rng)
		return r
	}
	same := func(stage string, r *pb.HelpRequest, got, want Result) {
		t.Helper()
		if !slices.Equal(got.Exclusions, want.Exclusions) || !slices.Equal(names(got.Candidates), names(want.Candidates)) {
			t.Fatalf("%s: %v: got %v / %v, want %v / %v", stage, r.GetWindow(), names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
		}
	}
	compare := func(stage string, rebuilt bool) {
		e.rlock()
		checkAggregates(t, stage, e.grid)
		k, _ := checkOddAway(t, stage, e)
		known += k
		e.mu.RUnlock()
		var other *Engine
		if rebuilt {
			// An engine built afresh from the same volunteers: the grid
			// loaded in bulk (freshGrid's load).
			// Every other time from the last, whose first time zone, the
			// one whose points the grid counts by their kinds, may then
			// be another.
			other = NewEngine(DefaultConfig())
			order := slices.Clone(cur)
			if rebuilds++; rebuilds%2 == 0 {
				slices.Reverse(order)
			}
			for _, v := range order {
				if v != nil {
					if err := other.UpsertVolunteer(proto.Clone(v).(*pb.Volunteer)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for range 50 {
			r := request()
			e.rlock()
			q, err := e.prepare(r, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.countExclusions(q), e.exclusions(q); !slices.Equal(got, want) {
				t.Fatalf("%s: %v: counted %v, a full pass %v", stage, r.GetWindow(), got, want)
			}
			if e.grid.hopelessEverywhere(q) {
				everywhere++
			} else {
				for gi := range e.grid.groups {
					if q.hopeless(&e.grid.groups[gi]) {
						groups++
						break
					}
				}
			}
			s := exclusionSweep{e: e, q: q, tt: q.table()}
			for _, b := range e.grid.blocks[1:] {
				if b.n > 0 && s.tt.usable && s.kinds(b) {
					byKinds++
				}
			}
			e.mu.RUnlock()
			for _, k := range []int{1, 12} {
				got, err1 := e.FindCandidates(r, nil, k, now)
				want, err2 := bruteFind(e, r, k)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				same(stage, r, got, want)
				if other != nil {
					again, err := other.FindCandidates(r, nil, k, now)
					if err != nil {
						t.Fatal(err)
					}
					same(stage+" (built afresh)", r, got, again)
					again.Release()
				}
				got.Release()
			}
		}
	}
	compare("fresh", true)
	for step := range 6000 {
		switch step {
		case 3000: // the odd few leave, emptying some blocks and groups
			for i := n - odd; i < n; i++ {
				if cur[i] != nil {
					e.RemoveVolunteer(cur[i].Name)
					cur[i] = nil
				}
			}
		case 3500:
			compare("the odd few gone", true)
		case 3700:
			e.Compact()
			compare("compacted", false)
		case 4000: // and come back
			for i := n - odd; i < n; i++ {
				if cur[i] == nil {
					put(i, fresh(i, rng))
				}
			}
		}
		if step%500 == 499 {
			compare(fmt.Sprintf("step %d", step), step%2000 == 1999)
		}
		i := rng.IntN(n)
		if step >= 3000 && step < 4000 && i >= n-odd {
			continue
		}
		if cur[i] == nil {
			if rng.IntN(2) == 0 {
				put(i, fresh(i, rng)) // back under the same name
			}
			continue
		}
		v := proto.Clone(cur[i]).(*pb.Volunteer)
		switch rng.IntN(11) {
		case 0:
			v.Home.LatLng = place(i, rng)
		case 1: // a few metres: the same cell, mostly
			v.Home.LatLng.Latitude += (rng.Float64() - 0.5) * 1e-5
		case 2:
			v.Availability.Weekly = slotsOf(i, rng)
		case 3, 4:
			v.Availability.Away = awayChoices[rng.IntN(len(awayChoices))]
		case 5:
			v.Availability.Away = append(v.Availability.Away, awayChoices[1+rng.IntN(len(awayChoices)-1)]...)
		case 6:
			v.Availability.TimeZone = zoneOf(i, rng)
		case 7:
			v.Commitments = append(v.Commitments, jobsOf(rng)...)
		case 8:
			v.Commitments = nil
		case 9:
			v.Paused = !v.Paused
		case 10:
			e.RemoveVolunteer(v.Name)
			cur[i] = nil
			continue
		}
		put(i, v)
	}
	e.Compact()
	compare("compacted at the end", true)
	t.Logf("odd points with known away days %d, blocks counted by kinds %d, hopeless everywhere %d, in some groups %d", known, byKinds, everywhere, groups)
	if known < 5000 || byKinds < 5000 || everywhere < 50 || groups < 200 {
		t.Fatalf("odd points with known away days %d, blocks counted by kinds %d, hopeless everywhere %d, in some groups %d", known, byKinds, everywhere, groups)
	}
}
