package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCrowdsThroughChurn: crowds at a few points, ties at every boundary,
// away spans and expiring checks across the window, other time zones,
// remote requests by day and at night, k of 1, 7, 20 and 64, through long
// runs of updates (in place, moves, removals and re-adds under the same
// name), compactions and a rebuild from scratch: every search gives what
// checking everyone gives, and the blocks' tallies stay their points.
func TestCrowdsThroughChurn(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { crowdsThroughChurn(t, seed) })
	}
}

func crowdsThroughChurn(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	type pt struct{ dn, de float64 }
	var points []pt
	for range 25 {
		points = append(points, pt{rng.Float64()*8000 - 4000, rng.Float64()*8000 - 4000})
	}
	const n = 1500
	mk := func(i, rev int, at int) *pb.Volunteer {
		r := rand.New(rand.NewPCG(uint64(i), uint64(rev)*7+seed))
		v := tagMixVolunteer(i, r)
		p := points[at]
		v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = offset(p.dn, p.de)
		v.Availability.TimeZone = []string{"Europe/London", "Europe/London", "Europe/London", "America/New_York", "Asia/Tokyo"}[r.IntN(5)]
		if r.IntN(3) == 0 || seed == 1 {
			// By day only: at night whole blocks have nobody free, and a
			// remote count takes them by their kinds of tag.
			v.Availability.Weekly = everyDay(int32(7+r.IntN(4)), int32(14+r.IntN(5)))
		}
		if seed == 1 { // another time zone's hours would keep a block from that
			v.Availability.TimeZone = "Europe/London"
		}
		if r.IntN(5) == 0 {
			d0 := 29 + r.IntN(6)
			s := &pb.Date{Year: 2026, Month: 11, Day: int32(d0)}
			if d0 > 30 {
				s = &pb.Date{Year: 2026, Month: 12, Day: int32(d0 - 30)}
			}
			v.Availability.Away = []*pb.DateRange{{StartDate: s, EndDate: &pb.Date{Year: 2026, Month: 12, Day: int32(1 + r.IntN(6))}}}
			if v.Availability.Away[0].StartDate.Month == 12 && v.Availability.Away[0].StartDate.Day > v.Availability.Away[0].EndDate.Day {
				v.Availability.Away[0].EndDate.Day = v.Availability.Away[0].StartDate.Day
			}
		}
		if r.IntN(4) == 0 {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DbsLevel(1 + r.IntN(3)), ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: int32(29 + r.IntN(2))}}
			if r.IntN(2) == 0 {
				v.Vetting.ExpireDate = &pb.Date{Year: 2026, Month: 12, Day: int32(1 + r.IntN(5))}
			}
		}
		v.Capacity = int32(1 + r.IntN(3))
		v.Etag = fmt.Sprint(rev)
		return v
	}
	e := NewEngine(DefaultConfig())
	where := make([]int, n)
	live := make([]bool, n)
	rev := 0
	store := make([]*pb.Volunteer, n)
	write := func(i, at int) {
		rev++
		v := mk(i, rev, at)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		where[i], live[i], store[i] = at, true, v
	}
	for i := range n {
		write(i, rng.IntN(len(points)))
	}
	byKinds := 0 // blocks a remote count could take by their kinds of tag
	compare := func(stage string) {
		e.rlock()
		checkAggregates(t, stage, e.grid)
		e.mu.RUnlock()
		for range 40 {
			r := tagMixRequest(rng)
			if rng.IntN(3) == 0 {
				r.Needs, r.RemoteOk, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, false
			}
			r.DeclinedVolunteers = nil
			hour := rng.IntN(24)
			start := monday.Add(time.Duration(rng.IntN(7))*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(rng.IntN(4))*15*time.Minute)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(30)) * time.Hour))}}
			if rng.IntN(2) == 0 {
				p := points[rng.IntN(len(points))]
				r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(p.dn, p.de)
			} else {
				r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*8000-4000, rng.Float64()*8000-4000)
			}
			if Remote(r) {
				e.rlock()
				if q, err := e.prepare(r, nil, now); err == nil {
					s := exclusionSweep{e: e, q: q, tt: q.table()}
					for _, b := range e.grid.blocks[1:] {
						if b.n > 0 && s.tt.usable && s.kinds(b) {
							byKinds++
						}
					}
				}
				e.mu.RUnlock()
			}
			for _, k := range []int{1, 7, 20, 64} {
				got, err1 := e.FindCandidates(r, nil, k, now)
				want, err2 := bruteFind(e, r, k)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				gc, wc := got.Candidates, want.Candidates
				same := len(gc) == len(wc)
				for j := 0; same && j < len(gc); j++ {
					same = gc[j].Volunteer == wc[j].Volunteer && gc[j].Score == wc[j].Score && gc[j].Metres == wc[j].Metres
				}
				if !same || !slices.Equal(got.Exclusions, want.Exclusions) {
					t.Fatalf("%s: remote=%v k=%d %v: got %v / %v, want %v / %v", stage, r.RemoteOk, k, r.GetWindow(), names(gc), got.Exclusions, names(wc), want.Exclusions)
				}
				got.Release()
			}
		}
	}
	compare("fresh")
	for round := range 4 {
		for range 1500 {
			i := rng.IntN(n)
			switch op := rng.IntN(10); {
			case op == 0 && live[i]:
				e.RemoveVolunteer(fmt.Sprintf("volunteers/v%04d", i))
				live[i] = false
			case op <= 4 && live[i]:
				write(i, where[i]) // same point: in place
			default:
				write(i, rng.IntN(len(points)))
			}
		}
		compare(fmt.Sprintf("churn %d", round))
		if round == 1 {
			e.Compact()
			compare("compacted")
		}
	}
	// Built from the store at once, as at a restart.
	e = NewEngine(DefaultConfig())
	for i, v := range store {
		if live[i] {
			if err := e.UpsertVolunteer(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	compare("rebuilt")
	if seed == 1 && byKinds < 100 {
		t.Fatalf("only %d blocks a remote count could take by kinds", byKinds)
	}
}
