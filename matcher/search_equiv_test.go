package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// bruteFind is FindCandidates the straightforward way: every volunteer
// checked by the full rules, exclusions counted one by one over everyone in
// reach, candidates ranked by a full sort.
func bruteFind(e *Engine, r *pb.HelpRequest, k int) (Result, error) {
	e.rlock()
	defer e.mu.RUnlock()
	q, err := e.prepare(r, nil, now)
	if err != nil {
		return Result{}, err
	}
	var all []Candidate
	for id := range e.vols {
		v := &e.vols[id]
		if !v.live {
			continue
		}
		// Everyone is measured from their home as the grid stores it, bonus
		// holders (looked up, not searched for) too.
		plat, plng, _ := e.grid.Position(uint32(id))
		metres := ApproxMetres(q.lat, q.lng, plat, plng)
		if !q.remote && metres > q.maxMetres {
			continue
		}
		if ok, _, _, _ := e.check(q, uint32(id), metres); ok {
			all = append(all, e.score(q, uint32(id), metres, true))
		}
	}
	if q.remote {
		// Drawn from the nearest eligible by grid position (remotePool
		// of them, or k if more), and those with a bonus.
		near := slices.Clone(all)
		slices.SortFunc(near, func(a, b Candidate) int {
			pa, pb := gridMetres(e, q, a.id), gridMetres(e, q, b.id)
			if pa != pb {
				if pa < pb {
					return -1
				}
				return 1
			}
			return int(a.id) - int(b.id)
		})
		var drawn []Candidate
		for i, c := range near {
			if i < max(k, remotePool) || c.SameStreet || c.SamePostcode {
				drawn = append(drawn, c)
			}
		}
		all = drawn
	}
	sortCandidates(all)
	res := Result{Candidates: all[:min(k, len(all))]}
	if len(all) < k {
		res.Exclusions = e.exclusions(q)
	}
	return res, nil
}

// TestFindCandidatesMatchesBruteForce: the search that passes over blocks
// where nobody can be eligible, and the count that judges volunteers by
// their tags, give exactly what checking everyone does, through updates
// and removals that leave blocks' aggregates claiming more than they hold.
func TestFindCandidatesMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	e, write := tagMixEngine(t, 1500)
	rev := 1500
	compare := func(stage string, reqs int) (sparse, skipped int) {
		for range reqs {
			r := tagMixRequest(rng)
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
			k := []int{1, 5, 20, 60}[rng.IntN(4)]
			got, err1 := e.FindCandidates(r, nil, k, now)
			want, err2 := bruteFind(e, r, k)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !slices.Equal(got.Exclusions, want.Exclusions) || len(got.Candidates) != len(want.Candidates) {
				t.Fatalf("%s: %v k=%d: got %v / %v, want %v / %v", stage, r.Needs, k, names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
			}
			sameCandidates(t, stage, got.Candidates, want.Candidates)
			if len(got.Candidates) < k && !r.RemoteOk {
				sparse++
			}
			e.rlock()
			checkAggregates(t, stage, e.grid)
			q, _ := e.prepare(r, nil, now)
			for _, b := range e.grid.blocks[1:] {
				if b.n > 0 && q.hopeless(&b.agg) {
					skipped++
					break
				}
			}
			e.mu.RUnlock()
		}
		return sparse, skipped
	}
	sparse, skipped := compare("fresh", 300)
	churn(e, rng, 1700, rev, 4000, 5, 500, write, nil, func(stage string) {
		s, k := compare(stage, 40)
		sparse, skipped = sparse+s, skipped+k
	})
	s, k := compare("compacted", 300)
	sparse, skipped = sparse+s, skipped+k
	// The comparison means something only if it covers requests few can
	// help and searches that pass blocks over.
	if sparse < 200 || skipped < 100 {
		t.Fatalf("only %d sparse requests, %d with a block passed over", sparse, skipped)
	}
}

// TestFindCandidatesReleased: a search given the buffer of an earlier
// one, released (Result.Release), gives what checking everyone does,
// whatever that search left in it, for pages of every size.
func TestFindCandidatesReleased(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	e, _ := tagMixEngine(t, 1500)
	for range 400 {
		r := tagMixRequest(rng)
		r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
		k := []int{1, 5, 20, 60, 200}[rng.IntN(5)]
		got, err1 := e.FindCandidates(r, nil, k, now)
		want, err2 := bruteFind(e, r, k)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(got.Candidates) != len(want.Candidates) {
			t.Fatalf("k=%d: got %v, want %v", k, names(got.Candidates), names(want.Candidates))
		}
		sameCandidates(t, fmt.Sprintf("k=%d", k), got.Candidates, want.Candidates)
		got.Release()
		if got.Candidates != nil {
			t.Fatal("Release left the candidates")
		}
		got.Release() // a second is harmless
	}
}

// TestReleaseClearsBuffer: a released search's buffer, kept for the next,
// names nobody: a volunteer deleted or erased since must not stay in it
// until a later search happens to overwrite their slot.
func TestReleaseClearsBuffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 56))
	e, _ := tagMixEngine(t, 1500)
	for range 200 {
		r := tagMixRequest(rng)
		r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
		got, err := e.FindCandidates(r, []string{"volunteers/v0001"}, []int{1, 5, 20, 60, 100}[rng.IntN(5)], now)
		if err != nil {
			t.Fatal(err)
		}
		buf := got.buf
		got.Release()
		for _, cs := range [][]Candidate{buf.out[:cap(buf.out)], buf.bonus[:cap(buf.bonus)]} {
			for i, c := range cs {
				if c.Volunteer != "" || c.DisplayName != "" || c.skills != nil || c.zone != nil {
					t.Fatalf("released buffer still holds %q at %d", c.Volunteer, i)
				}
			}
		}
	}
}

func gridMetres(e *Engine, q *query, id uint32) float64 {
	plat, plng, _ := e.grid.Position(id)
	return ApproxMetres(q.lat, q.lng, plat, plng)
}

// checkAggregates: every block's aggregate, and its cells' skill bitmaps,
// claim at least what its points have, which is all that passing blocks
// and cells over relies on.
func cmpOdd(a, b gridOdd) int { return int(a.id) - int(b.id) }

// oddKeys is odd's ids and tags, without the away days the engine adds.
func oddKeys(odd []gridOdd) [][2]uint32 {
	var k [][2]uint32
	for _, o := range slices.SortedFunc(slices.Values(odd), cmpOdd) {
		k = append(k, [2]uint32{o.id, o.tag})
	}
	return k
}

// checkOddAway: every odd point the engine judges by its away days holds
// them as its record does, and says in how many blocks' odd points one
// is away on some day.
func checkOddAway(t *testing.T, stage string, e *Engine) (known, away int) {
	t.Helper()
	for _, b := range e.grid.blocks[1:] {
		for _, o := range e.grid.hists[b.index].odd {
			want := gridAwayUnknown
			if o.tag&gridHistOdd == tagAway {
				want = gridAwayOf(&e.hot[o.id])
			}
			if o.away != want {
				t.Fatalf("%s: volunteer %d (tag %#x) has away %v in the grid, %v in the record", stage, o.id, o.tag, o.away, want)
			}
			if want != gridAwayUnknown {
				known++
				if want != gridAwayNever {
					away++
				}
			}
		}
	}
	return known, away
}

func checkAggregates(t *testing.T, stage string, g *Grid) {
	t.Helper()
	for _, b := range g.blocks[1:] {
		var fresh gridAgg
		for ci := range b.cells {
			for _, en := range b.entries(uint32(ci)) {
				fresh.add(en.tag)
				for sk := range b.skilled {
					if en.tag>>(tagSkillShift+sk)&1 != 0 && b.skilled[sk][ci>>gridBlockShift]&(1<<(ci&gridBlockMask)) == 0 {
						t.Fatalf("%s: block (%d,%d) cell %d holds skill bit %d, its bitmap does not say so", stage, b.by, b.bx, ci, sk)
					}
				}
				var late gridBlock
				late.markSkills(uint32(ci), en.tag)
				for i := range b.late {
					if late.late[i][ci>>gridBlockShift]&^b.late[i][ci>>gridBlockShift] != 0 {
						t.Fatalf("%s: block (%d,%d) cell %d holds a point (tag %#x) that may be free at %d:00, its bitmap does not say so", stage, b.by, b.bx, ci, en.tag, gridLateHour[i])
					}
				}
			}
		}
		// The kinds of tag are exact: rebuilt from the entries, they hold
		// the same, in some order.
		var kinds gridHist
		for ci := range b.cells {
			for _, en := range b.entries(uint32(ci)) {
				kinds.add(en)
			}
		}
		h := g.hists[b.index]
		if !slices.Equal(slices.Sorted(slices.Values(h.plain)), slices.Sorted(slices.Values(kinds.plain))) ||
			!slices.Equal(oddKeys(h.odd), oddKeys(kinds.odd)) || h.reach != kinds.reach {
			t.Fatalf("%s: block (%d,%d) has kinds %v %v %v, holds %v %v %v", stage, b.by, b.bx, h.plain, h.odd, h.reach, kinds.plain, kinds.odd, kinds.reach)
		}
		ok := (!fresh.live || b.agg.live) && (!fresh.other || b.agg.other) && fresh.skills&^b.agg.skills == 0 && fresh.vet <= b.agg.vet
		for d := range fresh.hours {
			ok = ok && fresh.hours[d]&^b.agg.hours[d] == 0
		}
		if !ok {
			t.Fatalf("%s: block (%d,%d) claims %+v, holds %+v", stage, b.by, b.bx, b.agg, fresh)
		}
	}
	// Blocks' aggregates side by side are theirs, and each group's union
	// is exactly that of its blocks, recounted.
	if len(g.aggs) != len(g.blocks) || len(g.groups) != (len(g.blocks)-1)>>gridGroupShift+1 {
		t.Fatalf("%s: %d blocks, %d aggregates, %d groups", stage, len(g.blocks), len(g.aggs), len(g.groups))
	}
	for i, b := range g.blocks[1:] {
		if g.aggs[i+1] != b.agg {
			t.Fatalf("%s: block %d's aggregate %+v, side by side %+v", stage, i+1, b.agg, g.aggs[i+1])
		}
	}
	for gi, u := range g.groups {
		var want gridAgg
		for i := gi << gridGroupShift; i < min((gi+1)<<gridGroupShift, len(g.aggs)); i++ {
			want.merge(&g.aggs[i])
		}
		if u != want {
			t.Fatalf("%s: group %d claims %+v, its blocks %+v", stage, gi, u, want)
		}
	}
	checkPatches(t, stage, g)
}

// checkPatches: each patch holds exactly the blocks, not empty, that lie
// in it, claims exactly the union of their aggregates, and its tallies are
// exactly theirs, recounted from their kinds of tag.
func checkPatches(t *testing.T, stage string, g *Grid) {
	t.Helper()
	if len(g.patchOf) != len(g.patches)-1 {
		t.Fatalf("%s: %d patches, %d in the map", stage, len(g.patches)-1, len(g.patchOf))
	}
	var want []uint32
	for _, b := range g.blocks[1:] {
		if b.n > 0 {
			want = append(want, b.index)
			pi, ok := g.patchOf[patchKey(int64(b.by), int64(b.bx))]
			if !ok || g.blockPatch[b.index] != pi {
				t.Fatalf("%s: block (%d,%d) is in patch %d, its place's is %d (%v)", stage, b.by, b.bx, g.blockPatch[b.index], pi, ok)
			}
		} else if g.blockPatch[b.index] != 0 {
			t.Fatalf("%s: empty block %d is in patch %d", stage, b.index, g.blockPatch[b.index])
		}
	}
	var got []uint32
	for pi, p := range g.patches[1:] {
		var fresh gridPatch
		for _, m := range p.members {
			b := g.blocks[m]
			if g.blockPatch[m] != uint32(pi+1) || int64(b.by)>>gridPatchShift != int64(p.py) || int64(b.bx)>>gridPatchShift != int64(p.px) {
				t.Fatalf("%s: patch %d (%d,%d) holds block %d (%d,%d)", stage, pi+1, p.py, p.px, m, b.by, b.bx)
			}
			got = append(got, m)
			fresh.agg.merge(&g.aggs[m])
			h := g.hists[m]
			for _, k := range h.plain {
				for range k >> gridHistKeyBits {
					fresh.plain = addKind(fresh.plain, k&gridHistKeyMask)
				}
			}
			for _, o := range h.odd {
				fresh.add(o.tag, o.away)
			}
		}
		if fresh.agg != p.agg || fresh.needy != p.needy ||
			!slices.Equal(slices.Sorted(slices.Values(p.plain)), slices.Sorted(slices.Values(fresh.plain))) ||
			!slices.Equal(slices.SortedFunc(slices.Values(p.away), cmpAwayKind), slices.SortedFunc(slices.Values(fresh.away), cmpAwayKind)) {
			t.Fatalf("%s: patch %d claims %+v %v %v %d, its blocks %+v %v %v %d", stage, pi+1, p.agg, p.plain, p.away, p.needy, fresh.agg, fresh.plain, fresh.away, fresh.needy)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: patches hold blocks %v, the grid %v", stage, got, want)
	}
	// Each region holds exactly the patches within it, claims the union
	// of their aggregates, and its tallies are the sum of theirs.
	if len(g.regionOf) != len(g.regions)-1 {
		t.Fatalf("%s: %d regions, %d in the map", stage, len(g.regions)-1, len(g.regionOf))
	}
	kids := 0
	for ri, r := range g.regions[1:] {
		var fresh gridPatch
		for _, k := range r.kids {
			p := &g.patches[k]
			if p.parent != uint32(ri+1) || int64(p.py)>>(gridRegionShift-gridPatchShift) != int64(r.py) || int64(p.px)>>(gridRegionShift-gridPatchShift) != int64(r.px) {
				t.Fatalf("%s: region %d (%d,%d) holds patch %d (%d,%d) of region %d", stage, ri+1, r.py, r.px, k, p.py, p.px, p.parent)
			}
			kids++
			fresh.agg.merge(&p.agg)
			for _, c := range p.plain {
				for range c >> gridHistKeyBits {
					fresh.plain = addKind(fresh.plain, c&gridHistKeyMask)
				}
			}
			for _, a := range p.away {
				for range a.key >> gridHistKeyBits {
					fresh.add(tagAway|(a.key&127)<<tagVetShift|(a.key>>7)<<tagSkillShift, a.away)
				}
			}
			fresh.needy += p.needy
		}
		if fresh.agg != r.agg || fresh.needy != r.needy ||
			!slices.Equal(slices.Sorted(slices.Values(r.plain)), slices.Sorted(slices.Values(fresh.plain))) ||
			!slices.Equal(slices.SortedFunc(slices.Values(r.away), cmpAwayKind), slices.SortedFunc(slices.Values(fresh.away), cmpAwayKind)) {
			t.Fatalf("%s: region %d claims %+v %v %v %d, its patches %+v %v %v %d", stage, ri+1, r.agg, r.plain, r.away, r.needy, fresh.agg, fresh.plain, fresh.away, fresh.needy)
		}
	}
	if kids != len(g.patches)-1 {
		t.Fatalf("%s: regions hold %d patches of %d", stage, kids, len(g.patches)-1)
	}
}

func cmpAwayKind(a, b gridAwayKind) int {
	if a.key != b.key {
		return int(a.key) - int(b.key)
	}
	if a.away[0] != b.away[0] {
		return int(a.away[0] - b.away[0])
	}
	return int(a.away[1] - b.away[1])
}

// TestReleaseTwiceThroughACopy: a copy of a Result released as well as
// the original must not put its buffer in the pool twice, where two later
// searches would be lent the same one and write over each other's pages.
func TestReleaseTwiceThroughACopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	e, _ := tagMixEngine(t, 300)
	got, err := e.FindCandidates(tagMixRequest(rng), nil, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	dup := got
	got.Release()
	dup.Release()
	// sync.Pool keeps what a goroutine put last for its next Get, so
	// searches at once from here would be lent one buffer if it went in
	// twice.
	a, err := e.FindCandidates(tagMixRequest(rng), nil, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.FindCandidates(tagMixRequest(rng), nil, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	if a.buf == b.buf {
		t.Fatal("two searches at once were lent one buffer")
	}
	a.Release()
	b.Release()
}
