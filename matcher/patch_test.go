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

// TestRemoteCountByPatches: a remote request's count of why, which counts
// patches of blocks wholly within its circle where nobody is free by their
// tallies (gridPatch), counts exactly what a full pass does and finds
// what checking everyone finds, through updates in place, moves,
// removals, away days set and cleared, and a compaction; the patches stay
// exactly their blocks (checkPatches); and each way a patch is taken
// happens: counted whole, read block by block as its tallies need a
// record (another time zone, an expiring check), and undone where a kind
// needs the rules (a skill past the tag's bits), plain kinds or, in a
// patch where everyone is away, away ones.
func TestRemoteCountByPatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	// tagMixVolunteer's mix, free by day only, most within 15 km of the
	// centre and the rest over 140 km by 70 km, so that 50 km circles take
	// some patches and regions whole and cross others; a third in a town
	// to the west where nothing is odd but jobs held; and, 40 km east, a
	// hamlet where everyone is away (or holding a job) and nothing else
	// is odd.
	write := func(e *Engine, i, rev int) {
		r := rand.New(rand.NewPCG(uint64(i), uint64(rev)))
		v := tagMixVolunteer(i, r)
		span := 140000.0
		if r.IntN(10) < 7 {
			span = 30000
		}
		v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = offset(r.Float64()*span-span/2, r.Float64()*span-span/2)
		if span > 30000 {
			// East of the town below, all the way
			v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = offset(r.Float64()*span-span/2, r.Float64()*span/2-10000)
		}
		for _, s := range v.Availability.Weekly {
			from := 7 + r.Int32N(8)
			s.StartTime, s.EndTime = &pb.TimeOfDay{Hours: from}, &pb.TimeOfDay{Hours: from + 1 + r.Int32N(6)}
		}
		if i%3 == 0 {
			// A quiet town 35 km west, where nothing is odd but jobs
			// held: whole regions there are counted as one.
			v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = offset(r.Float64()*30000-15000, -35000+r.Float64()*30000-15000)
			v.Availability.TimeZone, v.Vetting.ExpireDate, v.Availability.Away = "Europe/London", nil, nil
		}
		if i%40 == 0 {
			v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = offset(r.Float64()*500, 40000+r.Float64()*500)
			v.Availability.TimeZone, v.Vetting.ExpireDate = "Europe/London", nil
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 11, Day: 30}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: int32(1 + r.IntN(4))}}}
			if r.IntN(3) == 0 {
				v.Availability.Away = nil
				v.ActiveAssignments = 1
				v.Commitments = []*pb.Commitment{{HelpRequest: "helpRequests/held", Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(10 * time.Hour)), EndTime: timestamppb.New(monday.Add(11 * time.Hour))}, Needs: []pb.Need{pb.Need_NEED_TRANSPORT}}}
			}
		}
		v.Etag = fmt.Sprint(rev)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	e := NewEngine(DefaultConfig())
	// The first four skills interned take the tag's bits, so that a
	// request needing "polish" needs one past them.
	if err := e.UpsertVolunteer(vol("first", 0, 0, func(v *pb.Volunteer) { v.Skills = []string{"driver", "welsh", "dog-friendly", "bsl"} })); err != nil {
		t.Fatal(err)
	}
	const n = 4000
	for i := range n {
		write(e, i, i+1)
	}
	rev := n
	var crossed, whole, needy, undone, undoneAway, counted, regionsCounted int
	compare := func(stage string) {
		e.rlock()
		checkAggregates(t, stage, e.grid)
		checkOddAway(t, stage, e)
		e.mu.RUnlock()
		for range 60 {
			r := tagMixRequest(rng)
			r.Needs, r.RemoteOk, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, false
			start := monday.Add(time.Duration(rng.IntN(7))*24*time.Hour + time.Duration(20+rng.IntN(10))*time.Hour)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(4)) * time.Hour))}}
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*60000-30000, rng.Float64()*60000-30000)
			e.rlock()
			q, err := e.prepare(r, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.countExclusions(q), e.exclusions(q); !slices.Equal(got, want) {
				t.Fatalf("%s: %v %v: counted %v, a full pass %v", stage, r.RequiredSkills, r.GetWindow(), got, want)
			}
			s := exclusionSweep{e: e, q: q, tt: q.table(), pieces: q.window.for_(0), lat: q.lat, lng: q.lng}
			radius := float64(remoteCountMetres)
			s.cosMin, s.cosMax = gridCosBound(q.lat, radius), gridCosMax(q.lat, radius)
			outer := radius*(1+gridSlackRel) + gridSlackAbs
			s.degSq = (outer / gridMetresPerDeg) * (outer / gridMetresPerDeg)
			inner := radius * (1 - 1e-9) / gridMetresPerDeg
			s.innerDegSq = inner * inner * (1 - 1e-9)
			checkPatchBounds(t, stage, &s)
			regions := e.grid.regions[1:]
			for i := range e.grid.patches[1:] {
				p := &e.grid.patches[i+1]
				near, w := s.patchBounds(p, gridPatchShift)
				if near && !w {
					crossed++
				}
				if !w || len(p.members) == 0 || !s.tt.usable || !s.hopelessAgg(&p.agg) {
					continue
				}

				whole++
				switch {
				case p.needy != 0:
					needy++
				case s.patchKinds(p):
					counted++
				case s.count != [256]int32{}:
					t.Fatalf("%s: undone, the count is %v", stage, s.count)
				case len(p.plain) == 0:
					undoneAway++
				default:
					undone++
				}
				s.count = [256]int32{}
			}
			for i := range regions {
				r := &regions[i]
				if _, w := s.patchBounds(r, gridRegionShift); w && len(r.kids) > 0 && r.needy == 0 && s.tt.usable && s.hopelessAgg(&r.agg) && s.patchKinds(r) {
					regionsCounted++
				}
				s.count = [256]int32{}
			}
			e.mu.RUnlock()
			sameAsBrute(t, stage, e, r, now, 1, 20)
		}
	}
	compare("fresh")
	churn(e, rng, n, rev, 6000, 6, 2000, func(j, rev int) { write(e, j, rev) }, nil, compare)
	if crossed < 1000 || counted < 1000 || needy < 1000 || undone < 100 || undoneAway < 20 || regionsCounted < 50 {
		t.Fatalf("patches crossed by a circle's edge %d; whole and hopeless %d: counted %d, needing a record %d, undone %d, undone in away kinds %d; regions counted %d", crossed, whole, counted, needy, undone, undoneAway, regionsCounted)
	}
}

// checkPatchBounds: a patch or region that patchBounds finds wholly within
// the radius has each of its blocks so, as block finds it, and one it
// finds beyond has each of its blocks beyond.
func checkPatchBounds(t *testing.T, stage string, s *exclusionSweep) {
	t.Helper()
	g := s.e.grid
	blockBounds := func(bi uint32) (near, whole bool) {
		blk := g.blocks[bi]
		bd, _ := g.band(int64(blk.by))
		y0, x0 := int64(blk.by)<<gridBlockShift, int64(blk.bx)<<gridBlockShift
		rowDeg := 1 / g.rowsPerDegree
		lo, hi := s.boxDegSq(float64(y0)*rowDeg, float64(y0+gridBlockSide)*rowDeg, float64(x0)*bd.degPerCol, float64(x0+gridBlockSide)*bd.degPerCol)
		return lo <= s.degSq, hi <= s.innerDegSq
	}
	check := func(what string, near, whole bool, blocks []uint32) {
		for _, bi := range blocks {
			bn, bw := blockBounds(bi)
			if whole && !bw || !near && bn {
				t.Fatalf("%s: %s is near %v, whole %v; its block %d near %v, whole %v", stage, what, near, whole, bi, bn, bw)
			}
		}
	}
	for i := range g.regions[1:] {
		r := &g.regions[i+1]
		near, whole := s.patchBounds(r, gridRegionShift)
		for _, k := range r.kids {
			check(fmt.Sprintf("region %d", i+1), near, whole, g.patches[k].members)
		}
	}
	for i := range g.patches[1:] {
		p := &g.patches[i+1]
		near, whole := s.patchBounds(p, gridPatchShift)
		check(fmt.Sprintf("patch %d", i+1), near, whole, p.members)
	}
}
