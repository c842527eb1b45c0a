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

// TestSweepMatchesSearchAndFullPass: a sweep finds exactly the neighbours
// a search with no limit on their number finds, and counts exactly what a
// full pass does, on a fresh engine and through updates and removals that
// move points between cells, leave holes in block arenas and empty
// blocks.
func TestSweepMatchesSearchAndFullPass(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	e, write := tagMixEngine(t, 1500)
	rev := 1500
	found := 0
	compare := func(stage string) {
		e.rlock()
		checkHoles(t, stage, e.grid)
		e.mu.RUnlock()
		for range 150 {
			r := tagMixRequest(rng)
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
			e.rlock()
			q, err := e.prepare(r, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			var tl tally
			tl.init(q)
			var got []Neighbour
			if !q.remote {
				got = e.sweep(q, &tl, true, nil)
				accept := func(id, tag uint32, m float64) bool {
					ok, _, _, _ := e.check(q, id, m)
					return ok
				}
				want := e.grid.Nearest(nil, q.lat, q.lng, 1<<30, q.maxMetres, func(id uint32, m float64) bool { return accept(id, 0, m) })
				// Put nearest first in steps, as a search widening
				// does, each step leaving the rest for the next.
				done := 0
				for n := 1 + rng.IntN(30); ; n = n*2 + rng.IntN(3) {
					done = nearestFirst(got, done, n)
					if m := min(n, len(want)); done != m || !slices.Equal(got[:m], want[:m]) {
						t.Fatalf("%s: %v: the %d nearest swept %v, searched %v", stage, r.Needs, n, got[:done], want[:m])
					}
					if n >= len(got) {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: %v: swept %v, searched %v", stage, r.Needs, got, want)
				}
				found += len(got)
			} else {
				e.sweep(q, &tl, false, nil)
			}
			if got, want := tl.exclusions(q), e.exclusions(q); !slices.Equal(got, want) {
				t.Fatalf("%s: %v remote=%v: swept %v, full pass %v", stage, r.Needs, q.remote, got, want)
			}
			e.mu.RUnlock()
		}
	}
	compare("fresh")
	for i := range 3000 {
		n := rng.IntN(1700)
		if i%4 == 0 {
			e.RemoveVolunteer(fmt.Sprintf("volunteers/v%04d", n))
		} else {
			rev++
			write(n, rev)
		}
		if i%1000 == 999 {
			compare(fmt.Sprintf("churn %d", i))
		}
	}
	e.Compact()
	compare("compacted")
	if found == 0 {
		t.Fatal("no sweep found anyone")
	}
}

// TestSearchThatGivesUpFindsTheSame: a FindCandidates search that gives
// up and sweeps (here after reading a point or a few dozen, so that many
// do) returns exactly what one that never gives up does, and counts the
// same exclusions as a full pass.
func TestSearchThatGivesUpFindsTheSame(t *testing.T) {
	defer func(b int) { searchBudget = b }(searchBudget)
	rng := rand.New(rand.NewPCG(63, 64))
	e := NewEngine(DefaultConfig())
	for n := range 1500 {
		if err := e.UpsertVolunteer(tagMixVolunteer(n, rand.New(rand.NewPCG(uint64(n), 7)))); err != nil {
			t.Fatal(err)
		}
	}
	gaveUp, found := 0, 0
	for i := range 600 {
		r := tagMixRequest(rng)
		r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
		k := []int{1, 5, 20, 60}[rng.IntN(4)]
		searchBudget = 0 // never give up
		want, err := bruteFind(e, r, k)
		if err != nil {
			t.Fatal(err)
		}
		searchBudget = []int{1, 10, 50}[i%3]
		got, err := e.FindCandidates(r, nil, k, now)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Exclusions, want.Exclusions) || len(got.Candidates) != len(want.Candidates) {
			t.Fatalf("%v k=%d budget %d: got %v / %v, want %v / %v", r.Needs, k, searchBudget, names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
		}
		sameCandidates(t, "", got.Candidates, want.Candidates)
		e.rlock()
		q, _ := e.prepare(r, nil, now)
		var tl tally
		tl.init(q)
		if _, counted := e.search(q, k, false, nil, &tl); counted {
			gaveUp++
			found += len(got.Candidates)
		}
		e.mu.RUnlock()
	}
	if gaveUp < 50 || found == 0 {
		t.Fatalf("only %d searches gave up, finding %d", gaveUp, found)
	}
}

// checkHoles: every place in a block's arena outside its cells' points is
// a hole, and no point is, which is all a sweep that reads arenas from
// end to end relies on.
func checkHoles(t *testing.T, stage string, g *Grid) {
	t.Helper()
	for _, b := range g.blocks[1:] {
		live := make([]bool, len(b.arena))
		for ci := range uint32(len(b.cells)) {
			off, n := b.cell(ci)
			for i := off; i < off+n; i++ {
				live[i] = true
			}
		}
		for i, en := range b.arena {
			if isHole := en == gridHole; isHole == live[i] {
				t.Fatalf("%s: block (%d,%d) place %d: hole %v, holds a point %v", stage, b.by, b.bx, i, isHole, live[i])
			}
		}
	}
}

// TestGridHolesUnderChurn: the arenas' holes stay marked through a bulk
// load, inserts, moves within and between cells and blocks, removals that
// empty cells and blocks, and arena rebuilds.
func TestGridHolesUnderChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	var pts []gridPoint
	for i := range 3000 {
		lat, lng := offset(rng.NormFloat64()*800, rng.NormFloat64()*800)
		pts = append(pts, gridPoint{id: uint32(i), lat: lat, lng: lng, tag: uint32(i)})
	}
	g := NewGrid(100)
	g.load(pts)
	checkHoles(t, "load", g)
	for i := range 20000 {
		id := uint32(rng.IntN(3500))
		switch rng.IntN(5) {
		case 0:
			g.Remove(id)
		case 1: // a small move, often within the cell
			if lat, lng, ok := g.Position(id); ok {
				g.upsert(id, lat+(rng.Float64()-0.5)*1e-4, lng+(rng.Float64()-0.5)*1e-4, id)
				break
			}
			fallthrough
		default:
			lat, lng := offset(rng.NormFloat64()*800, rng.NormFloat64()*800)
			g.upsert(id, lat, lng, id)
		}
		if i%2000 == 0 {
			checkHoles(t, fmt.Sprintf("churn %d", i), g)
		}
	}
	checkHoles(t, "churned", g)
	for id := range uint32(3500) {
		g.Remove(id)
	}
	checkHoles(t, "emptied", g)
}

// TestNearestFirst: put nearest first in steps, as a search widening past
// a sweep does, each step's prefix is the sorted one's, and the whole
// stays the same neighbours; with distances tied by the hundred, points
// given in id order, and more than quickselect leaves to insertion.
func TestNearestFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for it := range 3000 {
		n := rng.IntN(400)
		if it%100 == 0 {
			n = 5000
		}
		spread := 1 + rng.IntN(50)
		var src []Neighbour
		seen := map[uint32]bool{}
		for range n {
			id := uint32(rng.IntN(1 << 20))
			if !seen[id] {
				seen[id] = true
				src = append(src, Neighbour{ID: id, Metres: float64(rng.IntN(spread))})
			}
		}
		if it%7 == 0 {
			slices.SortFunc(src, func(a, b Neighbour) int { return int(a.ID) - int(b.ID) })
		}
		want := slices.Clone(src)
		slices.SortFunc(want, compareNeighbours)
		got := slices.Clone(src)
		done := 0
		for k := rng.IntN(40); ; k = k*2 + 1 + rng.IntN(5) {
			done = nearestFirst(got, done, k)
			if m := min(k, len(want)); done != m || !slices.Equal(got[:m], want[:m]) {
				t.Fatalf("%d points, %d nearest: %v, want %v", len(src), k, got[:done], want[:m])
			}
			if k >= len(got) {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%d points: %v, want %v", len(src), got, want)
		}
	}
}

// TestRemoteCountByKinds: a remote request's count of why, which counts
// blocks where nobody is free in its window by their kinds of tag
// (gridHist), counts exactly what a full pass does and finds what
// checking everyone finds, through updates in place, moves, removals and
// a compaction; and the blocks' kinds stay exactly their points.
func TestRemoteCountByKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	// tagMixVolunteer's mix, in one time zone and free by day only, so
	// that at night whole blocks have nobody free.
	daytime := func(i, rev int, keep *pb.LatLng) *pb.Volunteer {
		r := rand.New(rand.NewPCG(uint64(i), uint64(rev)))
		v := tagMixVolunteer(i, r)
		v.Availability.TimeZone = "Europe/London"
		for _, s := range v.Availability.Weekly {
			from := 7 + r.Int32N(8)
			s.StartTime, s.EndTime = &pb.TimeOfDay{Hours: from}, &pb.TimeOfDay{Hours: from + 1 + r.Int32N(6)}
		}
		if keep != nil {
			v.Home.LatLng = keep // the same cell: the entry changes in place
		}
		v.Etag = fmt.Sprint(rev)
		return v
	}
	const n = 2000
	e, home, write := churnEngine(t, n, daytime)
	rev := n
	byKinds, known, away := 0, 0, 0
	compare := func(stage string) {
		e.rlock()
		checkAggregates(t, stage, e.grid)
		k, a := checkOddAway(t, stage, e)
		known, away = known+k, away+a
		e.mu.RUnlock()
		for range 60 {
			r := tagMixRequest(rng)
			r.Needs, r.RemoteOk, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, false
			start := monday.Add(time.Duration(rng.IntN(7))*24*time.Hour + time.Duration(20+rng.IntN(10))*time.Hour)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(4)) * time.Hour))}}
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
			e.rlock()
			q, err := e.prepare(r, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.countExclusions(q), e.exclusions(q); !slices.Equal(got, want) {
				t.Fatalf("%s: %v %v: counted %v, a full pass %v", stage, r.RequiredSkills, r.GetWindow(), got, want)
			}
			s := exclusionSweep{e: e, q: q, tt: q.table()}
			for _, b := range e.grid.blocks[1:] {
				if b.n > 0 && s.tt.usable && s.kinds(b) {
					byKinds++
				}
			}
			e.mu.RUnlock()
			sameAsBrute(t, stage, e, r, now, 1, 20)
		}
	}
	compare("fresh")
	churnCounts(e, rng, home, rev, 3000, write, compare)
	if byKinds < 1000 {
		t.Fatalf("only %d blocks counted by their kinds", byKinds)
	}
	if known < 200 || away < 100 {
		t.Fatalf("the grid held the away days of %d odd points, %d of them away on some day", known, away)
	}
}

// TestGridHistCrowd: a kind of tag with more points than an entry counts
// (a crowd at one postcode's centre) takes a second entry, and empties as
// its points leave.
func TestGridHistCrowd(t *testing.T) {
	var h gridHist
	e := gridEntry{id: 1, tag: 2 << tagVetShift}
	for range gridHistMaxCount + 2 {
		h.add(e)
	}
	total := 0
	for _, p := range h.plain {
		total += int(p >> gridHistKeyBits)
	}
	if len(h.plain) != 2 || total != gridHistMaxCount+2 {
		t.Fatalf("%d entries counting %d, want 2 counting %d", len(h.plain), total, gridHistMaxCount+2)
	}
	for range gridHistMaxCount + 2 {
		h.remove(e)
	}
	if len(h.plain) != 0 {
		t.Fatalf("%d entries left", len(h.plain))
	}
}

// TestBlockGroupsSearch: a search that passes over a group of blocks, or
// the whole grid, whose union of aggregates is hopeless (Grid.groups)
// finds what checking everyone finds, through updates in place, moves,
// removals and a compaction that shrink and grow blocks' aggregates; the
// groups stay exactly the union of their blocks (checkAggregates); and
// both kinds of passing over happen.
func TestBlockGroupsSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	// tagMixVolunteer's mix over 60 km square (hundreds of blocks, several
	// groups), in one time zone, free by day; one in 150 is free from 1 to
	// 3 in the morning, so that some groups are hopeless at night and
	// others not, and a call at 22:00 is hopeless everywhere.
	write := func(e *Engine, i, rev int) {
		r := rand.New(rand.NewPCG(uint64(i), uint64(rev)))
		v := tagMixVolunteer(i, r)
		v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = offset(r.Float64()*60000-30000, r.Float64()*60000-30000)
		v.Availability.TimeZone = "Europe/London"
		night := r.IntN(150) == 0
		for _, s := range v.Availability.Weekly {
			from := 7 + r.Int32N(8)
			if night {
				from = 1
			}
			s.StartTime, s.EndTime = &pb.TimeOfDay{Hours: from}, &pb.TimeOfDay{Hours: from + 1 + r.Int32N(2)}
		}
		v.Etag = fmt.Sprint(rev)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	e := NewEngine(DefaultConfig())
	const n = 3000
	for i := range n {
		write(e, i, i+1)
	}
	rev := n
	everywhere, groups := 0, 0
	compare := func(stage string) {
		e.rlock()
		checkAggregates(t, stage, e.grid)
		checkOddAway(t, stage, e)
		if len(e.grid.groups) < 4 {
			t.Fatalf("%s: %d groups of blocks", stage, len(e.grid.groups))
		}
		e.mu.RUnlock()
		for range 80 {
			r := tagMixRequest(rng)
			if rng.IntN(2) == 0 {
				r.Needs, r.RemoteOk, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true, false
			}
			hour := []int{22, 1, 1, 10}[rng.IntN(4)]
			start := monday.Add(time.Duration(rng.IntN(7))*24*time.Hour + time.Duration(hour)*time.Hour)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(2)) * time.Hour))}}
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*60000-30000, rng.Float64()*60000-30000)
			e.rlock()
			q, err := e.prepare(r, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if e.grid.hopelessEverywhere(q) {
				everywhere++
			} else {
				some := 0
				for i := range e.grid.groups {
					if q.hopeless(&e.grid.groups[i]) {
						some++
					}
				}
				if some > 0 {
					groups++
				}
			}
			e.mu.RUnlock()
			sameAsBrute(t, stage, e, r, now, 1, 20)
		}
	}
	compare("fresh")
	churn(e, rng, n, rev, 6000, 5, 2000, func(j, rev int) { write(e, j, rev) }, nil, compare)
	if everywhere < 50 || groups < 50 {
		t.Fatalf("hopeless everywhere %d times, in some groups and not others %d", everywhere, groups)
	}
}

// sameAsBrute holds e's candidates (by name) and exclusions for r, at each
// of ks, to checking everyone (bruteFind).
func sameAsBrute(t *testing.T, stage string, e *Engine, r *pb.HelpRequest, now time.Time, ks ...int) {
	t.Helper()
	for _, k := range ks {
		got, err1 := e.FindCandidates(r, nil, k, now)
		want, err2 := bruteFind(e, r, k)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !slices.Equal(got.Exclusions, want.Exclusions) || !slices.Equal(names(got.Candidates), names(want.Candidates)) {
			t.Fatalf("%s: k=%d: got %v / %v, want %v / %v", stage, k, names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
		}
		got.Release()
	}
}

// TestInPersonCountByKinds: a request with a reach counts a block by its
// kinds of tag at night where every point's own limit is passed all over
// it (exclusionSweep.limitsPass), and the count is what a full pass
// finds. Own limits below the reach live in the west half only, and
// there blocks are mostly read point by point; day windows sweep and
// collect.
func TestInPersonCountByKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	daytime := func(i, rev int, keep *pb.LatLng) *pb.Volunteer {
		r := rand.New(rand.NewPCG(uint64(i), uint64(rev)))
		v := tagMixVolunteer(i, r)
		v.Availability.TimeZone = "Europe/London"
		for _, s := range v.Availability.Weekly {
			from := 7 + r.Int32N(8)
			s.StartTime, s.EndTime = &pb.TimeOfDay{Hours: from}, &pb.TimeOfDay{Hours: from + 1 + r.Int32N(6)}
		}
		west := v.Home.LatLng.Longitude < baseLng
		v.MaxDistanceMetres = []int32{1500, 2000, 3000, 5000, 8000, 15000, 1700}[r.IntN(7)]
		if west && r.IntN(12) == 0 {
			v.MaxDistanceMetres = []int32{0, 300, 500, 1000, 1200, 1400}[r.IntN(6)]
		}
		if west && r.IntN(200) == 0 {
			v.Availability.TimeZone = "America/New_York"
		}
		if keep != nil {
			v.Home.LatLng = keep // the same cell: the entry changes in place
		}
		v.Etag = fmt.Sprint(rev)
		return v
	}
	const n = 4000
	e, home, write := churnEngine(t, n, daytime)
	rev := n
	passed := 0
	compare := func(stage string) {
		e.rlock()
		checkAggregates(t, stage, e.grid)
		e.mu.RUnlock()
		for i := range 150 {
			r := tagMixRequest(rng)
			r.Needs = []pb.Need{[]pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_TRANSPORT, pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_FOOD_PARCEL}[rng.IntN(5)]}
			r.RemoteOk = false
			hour := 20 + rng.IntN(10)
			if i%4 == 0 {
				hour = 6 + rng.IntN(14)
			}
			start := monday.Add(time.Duration(rng.IntN(7))*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(rng.IntN(4))*15*time.Minute)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(5)) * time.Hour))}}
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
			e.rlock()
			q, err := e.prepare(r, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.countExclusions(q), e.exclusions(q); !slices.Equal(got, want) {
				t.Fatalf("%s: %v %v %v: counted %v, a full pass %v", stage, r.Needs, r.RequiredSkills, r.GetWindow(), got, want)
			}
			s := exclusionSweep{e: e, q: q, tt: q.table()}
			for _, b := range e.grid.blocks[1:] {
				ok := b.n > 0 && s.tt.usable && s.kinds(b)
				for c, m := range e.grid.hists[b.index].reach {
					ok = ok && (m == 0 || tagReach[c] >= q.maxMetres)
				}
				if ok {
					passed++
				}
			}
			e.mu.RUnlock()
			sameAsBrute(t, stage, e, r, now, 1, 20)
		}
	}
	compare("fresh")
	churnCounts(e, rng, home, rev, 4000, write, compare)
	if passed < 500 {
		t.Fatalf("only %d blocks could be counted by their kinds", passed)
	}
}

// churnEngine is an engine of n volunteers made by mk, with the write
// that upserts volunteer i again made at etag rev, staying in its cell
// (mk's keep, so that its entry changes in place) or not, and where each
// one lives (nil once removed).
func churnEngine(t *testing.T, n int, mk func(i, rev int, keep *pb.LatLng) *pb.Volunteer) (e *Engine, home []*pb.LatLng, write func(i, rev int, stay bool)) {
	e = NewEngine(DefaultConfig())
	home = make([]*pb.LatLng, n)
	write = func(i, rev int, stay bool) {
		var keep *pb.LatLng
		if stay {
			keep = home[i]
		}
		v := mk(i, rev, keep)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		home[i] = v.Home.LatLng
	}
	for i := range n {
		write(i, i+1, false)
	}
	return e, home, write
}

// churnCounts is churn for the count tests with volunteers in home (nil
// once removed): one step in seven a removal, an edit staying in its
// cell half the time, a compare every thousand.
func churnCounts(e *Engine, rng *rand.Rand, home []*pb.LatLng, rev, steps int, write func(i, rev int, stay bool), compare func(stage string)) {
	churn(e, rng, len(home), rev, steps, 7, 1000,
		func(j, rev int) { write(j, rev, home[j] != nil && rng.IntN(2) == 0) },
		func(j int) { home[j] = nil }, compare)
}

// churn edits (write, at the next etag after rev) and removes (removed,
// if not nil, is told) volunteers v0000 to n-1 of e at random, steps
// times, one step in removeEvery a removal, comparing every compareEvery
// steps and after a Compact.
func churn(e *Engine, rng *rand.Rand, n, rev, steps, removeEvery, compareEvery int, write func(j, rev int), removed func(j int), compare func(stage string)) {
	for i := range steps {
		switch j := rng.IntN(n); {
		case i%removeEvery == 0:
			e.RemoveVolunteer(fmt.Sprintf("volunteers/v%04d", j))
			if removed != nil {
				removed(j)
			}
		default:
			rev++
			write(j, rev)
		}
		if i%compareEvery == compareEvery-1 {
			compare(fmt.Sprintf("churn %d", i))
		}
	}
	e.Compact()
	compare("compacted")
}

// sameCandidates fails t unless got and want, of one length, hold the same
// candidates in order, with the same scores, parts and explanations;
// where says which search, if anything.
func sameCandidates(t *testing.T, where string, got, want []Candidate) {
	t.Helper()
	if where != "" {
		where += ": "
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Volunteer != w.Volunteer || g.Score != w.Score || g.Parts != w.Parts || g.Explain() != w.Explain() {
			t.Fatalf("%scandidate %d: got %+v, want %+v", where, i, g, w)
		}
	}
}
