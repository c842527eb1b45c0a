package matcher

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestNameIndexAgainstMap: inserts and removals in random order, including
// removals that must shift later entries of a probe run back, find exactly
// what a map holds.
func TestNameIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	e := &Engine{}
	var x nameIndex
	want := map[string]uint32{}
	for step := range 20000 {
		name := fmt.Sprintf("volunteers/n%d", rng.IntN(3000))
		if id, ok := want[name]; ok && rng.IntN(2) == 0 {
			x.remove(e, id)
			e.vols[id] = volunteer{}
			delete(want, name)
		} else if !ok {
			var v volunteer
			e.putText(&v, name, "")
			e.vols = append(e.vols, v)
			id := uint32(len(e.vols) - 1)
			x.insert(e, id)
			want[name] = id
		}
		if step%500 == 0 || step == 19999 {
			if x.n != len(want) {
				t.Fatalf("step %d: n = %d, want %d", step, x.n, len(want))
			}
			for i := range 3000 {
				name := fmt.Sprintf("volunteers/n%d", i)
				id, ok := x.find(e, name)
				wid, wok := want[name]
				if ok != wok || id != wid {
					t.Fatalf("step %d: find(%s) = %d %v, want %d %v", step, name, id, ok, wid, wok)
				}
			}
		}
	}
}

// TestGridLoadIsUpserts: a grid loaded in bulk holds what the same Upserts
// give, answers the same, and takes later moves and removals.
func TestGridLoadIsUpserts(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	pts := make([]gridPoint, 5000)
	for i := range pts {
		pts[i] = gridPoint{id: uint32(i * 3), lat: 57.1 + rng.Float64()*0.1, lng: -2.2 + rng.Float64()*0.2, tag: rng.Uint32()}
		if i%100 == 0 {
			pts[i].lat, pts[i].lng = 51.5+rng.Float64()*0.1, -0.1+rng.Float64()*0.1 // far away blocks too
		}
	}
	a, b := NewGrid(100), NewGrid(100)
	a.load(pts)
	for _, p := range pts {
		b.upsert(p.id, p.lat, p.lng, p.tag)
	}
	same := func(when string) {
		t.Helper()
		if a.Len() != b.Len() || a.minLng != b.minLng || a.maxLng != b.maxLng || a.bandLo != b.bandLo || !reflect.DeepEqual(a.bands, b.bands) {
			t.Fatalf("%s: grids differ in size or extent", when)
		}
		for _, p := range pts {
			la, lo, oka := a.Position(p.id)
			lb, lob, okb := b.Position(p.id)
			if la != lb || lo != lob || oka != okb {
				t.Fatalf("%s: Position(%d) %v %v %v vs %v %v %v", when, p.id, la, lo, oka, lb, lob, okb)
			}
			if oka {
				if _, _, _, ta := gridEntryOf(t, a, p.id); ta != func() uint32 { _, _, _, tb := gridEntryOf(t, b, p.id); return tb }() {
					t.Fatalf("%s: tags of %d differ", when, p.id)
				}
			}
		}
		for range 50 {
			lat, lng := 57.1+rng.Float64()*0.1, -2.2+rng.Float64()*0.2
			na := a.Nearest(nil, lat, lng, 30, 2000, nil)
			nb := b.Nearest(nil, lat, lng, 30, 2000, nil)
			if !slices.Equal(na, nb) {
				t.Fatalf("%s: Nearest differs", when)
			}
		}
	}
	same("loaded")
	for i := range 3000 {
		p := &pts[rng.IntN(len(pts))]
		if i%4 == 0 {
			a.Remove(p.id)
			b.Remove(p.id)
			continue
		}
		p.lat += (rng.Float64() - 0.5) * 0.004
		p.lng += (rng.Float64() - 0.5) * 0.004
		a.upsert(p.id, p.lat, p.lng, p.tag)
		b.upsert(p.id, p.lat, p.lng, p.tag)
	}
	same("after moves and removals")
}

// TestEngineChurnMatchesFreshBuild: an engine that has seen many updates,
// removals and a Compact answers exactly like one built from the final
// volunteers alone.
func TestEngineChurnMatchesFreshBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	e := NewEngine(DefaultConfig())
	// Which of two missing skills is named follows the order skills were
	// first seen: the same in both engines.
	skills := []string{"driver", "welsh", "dog-friendly", "bsl", "gaelic", "polish"}
	for _, s := range skills {
		e.tag(s)
	}
	final := map[int]int{} // volunteer number -> version
	rev := 0
	write := func(n int) {
		rev++
		v := tagMixVolunteer(n, rand.New(rand.NewPCG(uint64(n), uint64(rev))))
		v.Etag = fmt.Sprint(rev)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		final[n] = rev
	}
	for i := range 6000 {
		n := rng.IntN(400)
		switch {
		case i%9 == 0:
			e.RemoveVolunteer(fmt.Sprintf("volunteers/v%04d", n))
			delete(final, n)
		default:
			write(n)
		}
		if i == 3000 {
			e.Compact()
		}
		if i%700 == 0 { // the grid catches up with the writes so far
			if _, err := e.FindCandidates(tagMixRequest(rng), nil, 5, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e.staleSlots == 0 && len(e.slots) == 0 {
		t.Fatal("no slots stored")
	}
	fresh := NewEngine(DefaultConfig())
	for _, s := range skills {
		fresh.tag(s)
	}
	for _, k := range slices.Sorted(func(yield func(int) bool) {
		for k := range final {
			if !yield(k) {
				return
			}
		}
	}) {
		v := tagMixVolunteer(k, rand.New(rand.NewPCG(uint64(k), uint64(final[k]))))
		v.Etag = fmt.Sprint(final[k])
		if err := fresh.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	if e.Len() != fresh.Len() {
		t.Fatalf("Len %d, fresh %d", e.Len(), fresh.Len())
	}
	for range 150 {
		r := tagMixRequest(rng)
		got, err1 := e.FindCandidates(r, nil, 15, now)
		want, err2 := fresh.FindCandidates(r, nil, 15, now)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(got.Candidates) != len(want.Candidates) || !slices.Equal(got.Exclusions, want.Exclusions) {
			t.Fatalf("churned %v / %v, fresh %v / %v", names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
		}
		for i := range got.Candidates {
			g, w := got.Candidates[i], want.Candidates[i]
			if g.Volunteer != w.Volunteer || g.Score != w.Score || g.Explain() != w.Explain() {
				t.Fatalf("candidate %d: churned %+v, fresh %+v", i, g, w)
			}
		}
	}
}

// TestPlanDispatchIsTheOptimumOfItsSearches: a plan is what solving the
// problem built from each request's own candidate search gives, offer for
// offer, with searches spread over workers in any order.
func TestPlanDispatchIsTheOptimumOfItsSearches(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	var vs []*pb.Volunteer
	for i := range 400 {
		v := tagMixVolunteer(i, rng)
		v.Capacity = 1 + int32(rng.IntN(2))
		v.ActiveAssignments = 0
		vs = append(vs, v)
	}
	e := engineWith(t, vs...)
	var reqs []DispatchRequest
	for i := range 300 {
		r := tagMixRequest(rng)
		r.Name = fmt.Sprintf("helpRequests/r%d", i)
		r.Urgency = pb.Urgency(1 + rng.IntN(4))
		lat, lng := offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
		r.Location.LatLng = &pb.LatLng{Latitude: lat, Longitude: lng}
		reqs = append(reqs, DispatchRequest{Request: r})
	}
	const per = 6
	got, err := e.PlanDispatch(reqs, per, now)
	if err != nil {
		t.Fatal(err)
	}
	// The problem as built before the searches were parallel and compact.
	p := &AssignmentProblem{Urgency: make([]int8, len(reqs)), Edges: make([][]Edge, len(reqs))}
	local := map[string]int32{}
	var back []string
	capOf := map[string]int32{}
	etagOf := map[string]string{}
	for _, v := range vs {
		capOf[v.Name] = v.Capacity - v.ActiveAssignments - v.PendingOffers
		etagOf[v.Name] = cmp.Or(v.Etag, "0") // as the engine parses it
	}
	scores := make([][]float64, len(reqs))
	for i, dr := range reqs {
		p.Urgency[i] = urgencyRank(dr.Request.GetUrgency())
		res, err := e.FindCandidates(dr.Request, nil, per, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Candidates {
			li, ok := local[c.Volunteer]
			if !ok {
				li = int32(len(back))
				local[c.Volunteer] = li
				back = append(back, c.Volunteer)
			}
			cost := int64(math.Round(c.Score + e.scoreOffset()))
			p.Edges[i] = append(p.Edges[i], Edge{Volunteer: li, Cost: min(max(cost, 0), MaxEdgeCost)})
			scores[i] = append(scores[i], c.Score)
		}
	}
	for _, name := range back {
		p.Capacity = append(p.Capacity, max(capOf[name], 0))
	}
	a, err := SolveAssignment(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{Uncovered: len(reqs) - a.Covered, Greedy: GreedyNearestFirst(p).Covered}
	for _, edges := range p.Edges {
		if len(edges) == 0 {
			want.NoCandidates++
		}
	}
	for i, li := range a.Volunteer {
		if li < 0 {
			continue
		}
		score := 0.0
		for j, ed := range p.Edges[i] {
			if ed.Volunteer == li {
				score = scores[i][j]
			}
		}
		want.Offers = append(want.Offers, PlannedOffer{HelpRequest: reqs[i].Request.Name, Volunteer: back[li], Urgency: reqs[i].Request.GetUrgency(), Score: score, VolunteerEtag: etagOf[back[li]]})
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("plan %d offers, %d uncovered (%d without candidates), greedy %d; from the searches %d offers, %d uncovered (%d without candidates), greedy %d",
			len(got.Offers), got.Uncovered, got.NoCandidates, got.Greedy, len(want.Offers), want.Uncovered, want.NoCandidates, want.Greedy)
	}
	if len(got.Offers) < 50 || got.NoCandidates == 0 || got.NoCandidates == got.Uncovered {
		t.Fatalf("%d offers, %d uncovered of which %d without candidates: the test covers too little", len(got.Offers), got.Uncovered, got.NoCandidates)
	}
}

// TestSkillsPastTheMask: skills interned past the 64 the packed record
// holds are checked on the side record, and named when missing.
func TestSkillsPastTheMask(t *testing.T) {
	var all []string
	for i := range 70 {
		all = append(all, fmt.Sprintf("skill%02d", i))
	}
	var vs []*pb.Volunteer
	vs = append(vs, vol("everything", 100, 0, func(v *pb.Volunteer) { v.Skills = all }))
	vs = append(vs, vol("low", 200, 0, func(v *pb.Volunteer) { v.Skills = all[:64] }))
	vs = append(vs, vol("some", 300, 0, func(v *pb.Volunteer) { v.Skills = append([]string{"skill66", "skill66"}, all[:3]...) }))
	e := engineWith(t, vs...)
	for _, tt := range []struct {
		need []string
		want []string
		miss []string // what the others lack, one each
	}{
		{[]string{"skill66"}, []string{"everything", "some"}, []string{"skill66"}},
		{[]string{"skill68", "skill01"}, []string{"everything"}, []string{"skill68", "skill68"}},
		{[]string{"skill63", "skill66"}, []string{"everything"}, []string{"skill63", "skill66"}},
	} {
		res, err := e.FindCandidates(req(func(r *pb.HelpRequest) { r.RequiredSkills = tt.need }), nil, 5, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Candidates); !slices.Equal(got, tt.want) {
			t.Errorf("%v: candidates %v, want %v", tt.need, got, tt.want)
		}
		var miss []string
		for _, x := range res.Exclusions {
			for range x.Count {
				miss = append(miss, x.Detail)
			}
			if x.Reason != MissingSkill {
				t.Errorf("%v: excluded for %v", tt.need, x.Reason)
			}
		}
		if slices.Sort(miss); !slices.Equal(miss, tt.miss) {
			t.Errorf("%v: others lack %v, want %v", tt.need, miss, tt.miss)
		}
	}
}

// TestGridBlockLayout: a block's cell headers start on a cache line, so
// that a row of 16 headers is one line (see gridBlock). This follows from
// the block's size and the runtime's 8-byte header before such an object;
// if either changes, the headers move off the line and searches slow.
func TestGridBlockLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout is worked out for 64-bit platforms")
	}
	if off := unsafe.Offsetof(gridBlock{}.cells); off%64 != 56 {
		t.Errorf("cells at offset %d of gridBlock, want 56 modulo 64", off)
	}
	g := NewGrid(100)
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range 2000 {
		g.Upsert(uint32(i), 51+rng.Float64(), -1+rng.Float64())
	}
	for _, b := range g.blocks[1:] {
		if a := uintptr(unsafe.Pointer(&b.cells[0])); a%64 != 0 {
			t.Fatalf("a block's cell headers start at %#x, not on a 64-byte line", a)
		}
	}
}

// TestGridWideBlock: a block whose arena outgrows 16-bit headers (a cell of
// 70,000 points, and others around it), filled by Upserts and by a bulk
// load, finds what brute force finds, through moves and removals that
// empty cells and the block.
func TestGridWideBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	var pts []gridPoint
	for i := range 72000 {
		p := gridPoint{id: uint32(i), lat: 57.15, lng: -2.1}
		if i%20 == 0 {
			p.lat, p.lng = 57.145+rng.Float64()*0.01, -2.105+rng.Float64()*0.01
		}
		pts = append(pts, p)
	}
	far := gridPoint{id: 72000, lat: 51.5, lng: -0.1} // another, narrow block
	pts = append(pts, far)
	upserted, loaded := NewGrid(100), NewGrid(100)
	for _, p := range pts {
		upserted.upsert(p.id, p.lat, p.lng, p.tag)
	}
	loaded.load(pts)
	pos := map[uint32][2]float64{}
	for _, p := range pts {
		pos[p.id] = [2]float64{gridStored(p.lat), gridStored(p.lng)}
	}
	check := func(stage string, g *Grid, pos map[uint32][2]float64, wantWide bool) {
		t.Helper()
		checkHoles(t, stage, g)
		wide := false
		for _, b := range g.blocks[1:] {
			wide = wide || b.wide != nil
		}
		if wide != wantWide {
			t.Fatalf("%s: a block is wide: %v, want %v", stage, wide, wantWide)
		}
		for _, q := range [][2]float64{{57.15, -2.1}, {57.146, -2.104}, {57.153, -2.097}, {51.5, -0.1}} {
			for _, kmax := range []struct {
				k int
				m float64
			}{{20, 300}, {500, 2000}, {len(pos) + 1, 400}} {
				var all []Neighbour
				for id, p := range pos {
					if d := ApproxMetres(q[0], q[1], p[0], p[1]); d <= kmax.m {
						all = append(all, Neighbour{ID: id, Metres: d})
					}
				}
				slices.SortFunc(all, func(a, b Neighbour) int {
					return cmp.Or(cmp.Compare(a.Metres, b.Metres), cmp.Compare(a.ID, b.ID))
				})
				want := all[:min(kmax.k, len(all))]
				if got := g.Nearest(nil, q[0], q[1], kmax.k, kmax.m, nil); !slices.Equal(got, want) {
					t.Fatalf("%s: Nearest(%v, %d, %v): %d results, want %d", stage, q, kmax.k, kmax.m, len(got), len(want))
				}
				n := 0
				g.Within(q[0], q[1], kmax.m, func(uint32, float64) bool { n++; return true })
				if n != len(all) {
					t.Fatalf("%s: Within(%v, %v) saw %d, want %d", stage, q, kmax.m, n, len(all))
				}
			}
		}
	}
	for _, g := range []*Grid{upserted, loaded} {
		pos := maps.Clone(pos)
		check("filled", g, pos, true)
		for i := range 3000 {
			id := uint32(rng.IntN(72000))
			if i%3 == 0 {
				g.Remove(id)
				delete(pos, id)
				continue
			}
			lat, lng := 57.145+rng.Float64()*0.01, -2.105+rng.Float64()*0.01
			g.Upsert(id, lat, lng)
			pos[id] = [2]float64{gridStored(lat), gridStored(lng)}
		}
		check("after moves and removals", g, pos, true)
		for id := range pos {
			if id != far.id {
				g.Remove(id)
				delete(pos, id)
			}
		}
		check("emptied", g, pos, false)
		for i := range 100 {
			lat, lng := 57.145+rng.Float64()*0.01, -2.105+rng.Float64()*0.01
			g.Upsert(uint32(i), lat, lng)
			pos[uint32(i)] = [2]float64{gridStored(lat), gridStored(lng)}
		}
		check("refilled", g, pos, false)
	}
}

// TestVolunteerLayout: what scoring a candidate reads of its record lies
// in its first 40 bytes (see volunteer), one cache line or two, and a
// record is 80 bytes with no pointers.
func TestVolunteerLayout(t *testing.T) {
	var v volunteer
	if n := unsafe.Sizeof(v); n != 80 {
		t.Errorf("a volunteer record is %d bytes, want 80", n)
	}
	if hasPointers(reflect.TypeFor[volunteer]()) {
		t.Errorf("a volunteer record holds pointers: the collector scans every record")
	}
	for name, end := range map[string]uintptr{
		"text":     unsafe.Offsetof(v.text) + unsafe.Sizeof(v.text),
		"nameLen":  unsafe.Offsetof(v.nameLen) + unsafe.Sizeof(v.nameLen),
		"shownLen": unsafe.Offsetof(v.shownLen) + unsafe.Sizeof(v.shownLen),
		"lat":      unsafe.Offsetof(v.lat) + unsafe.Sizeof(v.lat),
		"lng":      unsafe.Offsetof(v.lng) + unsafe.Sizeof(v.lng),
		"postcode": unsafe.Offsetof(v.postcode) + unsafe.Sizeof(v.postcode),
		"street":   unsafe.Offsetof(v.street) + unsafe.Sizeof(v.street),
		"slotOff":  unsafe.Offsetof(v.slotOff) + unsafe.Sizeof(v.slotOff),
		"nSlots":   unsafe.Offsetof(v.nSlots) + unsafe.Sizeof(v.nSlots),
	} {
		if end > 40 {
			t.Errorf("volunteer.%s ends at byte %d, past the first 40", name, end)
		}
	}
}

// hasPointers says whether a value of type t holds a pointer.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
