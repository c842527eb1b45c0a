package matcher

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/doorstep-aid/doorstep/geo"
)

// gridFixture is a grid and the positions it stores, for brute force.
type gridFixture struct {
	g   *Grid
	ids []uint32
	pos [][2]float64 // by id, as Position returns them
}

func newGridFixture(t testing.TB, cellMetres float64, pts [][2]float64) *gridFixture {
	t.Helper()
	f := &gridFixture{g: NewGrid(cellMetres)}
	for i, p := range pts {
		id := uint32(i)
		f.g.Upsert(id, p[0], p[1])
		f.ids = append(f.ids, id)
	}
	f.refresh(t)
	return f
}

// refresh reloads the stored positions and checks each against the
// requested one (within the fixed-point rounding).
func (f *gridFixture) refresh(t testing.TB) {
	t.Helper()
	for _, id := range f.ids {
		lat, lng, ok := f.g.Position(id)
		if !ok {
			t.Fatalf("Position(%d) missing", id)
		}
		f.setPos(id, lat, lng)
	}
	if f.g.Len() != len(f.ids) {
		t.Fatalf("Len = %d, want %d", f.g.Len(), len(f.ids))
	}
}

func (f *gridFixture) setPos(id uint32, lat, lng float64) {
	if int(id) >= len(f.pos) {
		f.pos = append(f.pos, make([][2]float64, int(id)+1-len(f.pos))...)
	}
	f.pos[id] = [2]float64{lat, lng}
}

func (f *gridFixture) bruteNearest(lat, lng float64, k int, maxMetres float64, accept func(uint32, float64) bool) []Neighbour {
	var all []Neighbour
	for _, id := range f.ids {
		p := f.pos[id]
		d := ApproxMetres(lat, lng, p[0], p[1])
		if d <= maxMetres && (accept == nil || accept(id, d)) {
			all = append(all, Neighbour{ID: id, Metres: d})
		}
	}
	slices.SortFunc(all, func(a, b Neighbour) int {
		return cmp.Or(cmp.Compare(a.Metres, b.Metres), cmp.Compare(a.ID, b.ID))
	})
	return all[:min(k, len(all))]
}

func (f *gridFixture) bruteWithin(lat, lng, maxMetres float64) map[uint32]float64 {
	out := map[uint32]float64{}
	for _, id := range f.ids {
		p := f.pos[id]
		if d := ApproxMetres(lat, lng, p[0], p[1]); d <= maxMetres {
			out[id] = d
		}
	}
	return out
}

// gridTestPoints: street-level clusters (some far denser than a cell
// holds), sparse country, exact duplicates, and points in other
// hemispheres, around the origin (negative cell coordinates on both
// axes), in the Arctic and next to the antimeridian.
func gridTestPoints(r *rand.Rand) [][2]float64 {
	var pts [][2]float64
	gauss := func(n int, lat, lng, sigma float64) {
		for range n {
			pts = append(pts, [2]float64{
				lat + r.NormFloat64()*sigma/111195,
				lng + r.NormFloat64()*sigma/(111195*math.Cos(lat*math.Pi/180)),
			})
		}
	}
	uniform := func(n int, lat0, lat1, lng0, lng1 float64) {
		for range n {
			pts = append(pts, [2]float64{lat0 + r.Float64()*(lat1-lat0), lng0 + r.Float64()*(lng1-lng0)})
		}
	}
	gauss(1200, 57.15, -2.10, 400)       // a town
	gauss(400, 57.145, -2.095, 40)       // a few streets: dozens per cell
	uniform(600, 56.9, 57.4, -2.6, -1.8) // the country around
	uniform(300, 50, 60, -7, 2)          // the rest of the UK, thinly
	for range 40 {
		pts = append(pts, [2]float64{57.16, -2.11}) // one address, many volunteers
	}
	gauss(200, 0.0004, -0.0004, 150) // around 0,0
	gauss(200, -33.87, 151.21, 300)  // Sydney
	gauss(60, 78.22, 15.65, 500)     // Svalbard
	gauss(40, 51.5, 179.999, 100)    // the antimeridian (not wrapped)
	uniform(30, -80, -70, -180, 180) // Antarctica, very thinly
	uniform(30, 89.9, 90, -180, 180) // the pole
	for i := range pts {
		pts[i][0] = math.Max(-90, math.Min(90, pts[i][0]))
		pts[i][1] = math.Max(-180, math.Min(180, pts[i][1]))
	}
	return pts
}

// gridTestQueries: at points, near points, in the clusters' boxes, and
// far from anything.
func gridTestQueries(r *rand.Rand, pts [][2]float64, n int) [][2]float64 {
	qs := [][2]float64{
		{45, -30}, {0, 0}, {-89, 10}, {90, 0}, {89.95, 100}, {57.16, -2.11},
		{51.5, -179.999}, {51.5, 180}, {-33.87, 151.21}, {60.5, -1.2},
	}
	for len(qs) < n {
		p := pts[r.IntN(len(pts))]
		switch r.IntN(4) {
		case 0:
			qs = append(qs, p)
		case 1, 2:
			qs = append(qs, [2]float64{p[0] + r.NormFloat64()*0.003, p[1] + r.NormFloat64()*0.005})
		default:
			qs = append(qs, [2]float64{56.8 + r.Float64()*0.8, -2.8 + r.Float64()*1.2})
		}
		q := &qs[len(qs)-1]
		q[0], q[1] = math.Max(-90, math.Min(90, q[0])), math.Max(-180, math.Min(180, q[1]))
	}
	return qs
}

func TestGridNearestMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pts := gridTestPoints(r)
	qs := gridTestQueries(r, pts, 60)
	inf := math.Inf(1)
	for _, cell := range []float64{100, 37, 1000} {
		f := newGridFixture(t, cell, pts)
		qs := qs
		if cell != 100 {
			qs = qs[:25] // the other sizes check the geometry, not the data
		}
		tests := []struct {
			k         int
			maxMetres float64
		}{
			{1, 1500}, {20, 1500}, {20, 150}, {5, 25}, {3, 0}, {100, 5000},
			{20, 60000}, {50, 800000}, {10, inf}, {1, inf},
			{len(pts) + 10, 2000}, // k beyond everything in range
			{len(pts) + 10, inf},  // everything
		}
		filters := []struct {
			name   string
			accept func(uint32, float64) bool
		}{
			{"all", nil},
			{"id%3", func(id uint32, _ float64) bool { return id%3 == 0 }},
			{"rare", func(id uint32, _ float64) bool { return id%97 == 5 }},
			{"none", func(uint32, float64) bool { return false }},
		}
		calls := make([]int, len(pts)) // accept calls by id, for one query
		for _, tt := range tests {
			for _, fl := range filters {
				t.Run(fmt.Sprintf("cell=%v/k=%d/max=%v/%s", cell, tt.k, tt.maxMetres, fl.name), func(t *testing.T) {
					for qi, q := range qs {
						want := f.bruteNearest(q[0], q[1], tt.k, tt.maxMetres, fl.accept)
						var called []uint32
						accept := func(id uint32, m float64) bool {
							if calls[id]++; calls[id] == 1 {
								called = append(called, id)
							}
							if p := f.pos[id]; m != ApproxMetres(q[0], q[1], p[0], p[1]) || m > tt.maxMetres {
								t.Errorf("accept(%d, %v): distance is %v, max %v", id, m, ApproxMetres(q[0], q[1], p[0], p[1]), tt.maxMetres)
							}
							return fl.accept == nil || fl.accept(id, m)
						}
						prefix := []Neighbour{{ID: 99999, Metres: -1}}
						got := f.g.Nearest(prefix, q[0], q[1], tt.k, tt.maxMetres, accept)
						if got[0] != prefix[0] {
							t.Fatalf("query %d: dst's prefix overwritten: %v", qi, got[0])
						}
						if !slices.Equal(got[1:], want) {
							t.Fatalf("query %d %v: got %d results, want %d\n got %v\nwant %v", qi, q, len(got)-1, len(want), gridHead(got[1:]), gridHead(want))
						}
						for _, id := range called {
							if calls[id] > 1 {
								t.Fatalf("query %d: accept called %d times for %d", qi, calls[id], id)
							}
							calls[id] = 0
						}
						if len(got)-1 < tt.k {
							// Short of k: every point in reach was asked
							// about (the engine counts exclusions so).
							if n := len(f.bruteWithin(q[0], q[1], tt.maxMetres)); len(called) != n {
								t.Fatalf("query %d: %d results, accept asked about %d of the %d points in reach", qi, len(got)-1, len(called), n)
							}
						}
						if fl.accept == nil {
							// A nil accept is the same as accepting all.
							if got := f.g.Nearest(nil, q[0], q[1], tt.k, tt.maxMetres, nil); !slices.Equal(got, want) {
								t.Fatalf("query %d: nil accept differs", qi)
							}
						}
					}
				})
			}
		}
	}
}

func gridHead(ns []Neighbour) []Neighbour { return ns[:min(len(ns), 6)] }

func TestGridNearestTies(t *testing.T) {
	// Exact binary fractions, so that the fixed point stores them exactly
	// and mirror-image offsets give bit-identical distances.
	const lat0, lng0, d = 57.125, -2.0625, 1.0 / 4096 // d is about 27 m of latitude
	g := NewGrid(100)
	// ids 10..14 at the same spot east, 20..24 at the mirror spot west,
	// 30..31 at the query point, 40 north (nearer than east/west in metres).
	for i := range uint32(5) {
		g.Upsert(14-i, lat0, lng0+d)
		g.Upsert(20+i, lat0, lng0-d)
	}
	g.Upsert(31, lat0, lng0)
	g.Upsert(30, lat0, lng0)
	g.Upsert(40, lat0+d/4, lng0)
	east := ApproxMetres(lat0, lng0, lat0, lng0+d)
	if west := ApproxMetres(lat0, lng0, lat0, lng0-d); east != west {
		t.Fatalf("mirror distances differ: %v %v", east, west)
	}
	ids := func(ns []Neighbour) []uint32 {
		var out []uint32
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return out
	}
	tests := []struct {
		k      int
		accept func(uint32, float64) bool
		want   []uint32
	}{
		{2, nil, []uint32{30, 31}},
		{3, nil, []uint32{30, 31, 40}},
		{6, nil, []uint32{30, 31, 40, 10, 11, 12}},
		{9, nil, []uint32{30, 31, 40, 10, 11, 12, 13, 14, 20}},
		{20, nil, []uint32{30, 31, 40, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24}},
		{4, func(id uint32, _ float64) bool { return id != 10 && id != 30 }, []uint32{31, 40, 11, 12}},
		{3, func(id uint32, _ float64) bool { return id >= 20 && id < 40 }, []uint32{30, 31, 20}},
	}
	for _, tt := range tests {
		got := g.Nearest(nil, lat0, lng0, tt.k, 1000, tt.accept)
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("k=%d: got %v, want %v", tt.k, ids(got), tt.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Metres < got[i-1].Metres {
				t.Errorf("k=%d: not ordered by distance: %v", tt.k, got)
			}
		}
	}
	// maxMetres is inclusive: exactly the tie distance keeps the tie.
	if got := g.Nearest(nil, lat0, lng0, 20, east, nil); len(got) != 13 {
		t.Errorf("maxMetres = the distance: %d results, want 13", len(got))
	}
	if got := g.Nearest(nil, lat0, lng0, 20, math.Nextafter(east, 0), nil); len(got) != 3 {
		t.Errorf("maxMetres just under the distance: %d results, want 3", len(got))
	}
}

func TestGridNearestDegenerate(t *testing.T) {
	g := NewGrid(100)
	if got := g.Nearest(nil, 57, -2, 5, 1000, nil); len(got) != 0 {
		t.Errorf("empty grid: %v", got)
	}
	g.Upsert(1, 57, -2)
	dst := []Neighbour{{ID: 7}}
	tests := []struct {
		name           string
		lat, lng, maxM float64
		k              int
	}{
		{"k=0", 57, -2, 1000, 0},
		{"k<0", 57, -2, 1000, -1},
		{"NaN max", 57, -2, math.NaN(), 5},
		{"negative max", 57, -2, -1, 5},
		{"NaN lat", math.NaN(), -2, 1000, 5},
		{"lat > 90", 91, -2, 1000, 5},
		{"lng < -180", 57, -181, math.Inf(1), 5},
	}
	for _, tt := range tests {
		got := g.Nearest(dst, tt.lat, tt.lng, tt.k, tt.maxM, nil)
		if len(got) != 1 || got[0].ID != 7 {
			t.Errorf("%s: got %v, want dst unchanged", tt.name, got)
		}
		called := false
		g.Within(tt.lat, tt.lng, tt.maxM, func(uint32, float64) bool { called = true; return true })
		if called && tt.k > 0 {
			t.Errorf("%s: Within found something", tt.name)
		}
	}
	if got := g.Nearest(nil, 57, -2, 5, 0, nil); len(got) != 1 || got[0] != (Neighbour{1, 0}) {
		t.Errorf("maxMetres 0 at the point: %v", got)
	}
}

func TestGridWithinMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pts := gridTestPoints(r)
	qs := gridTestQueries(r, pts, 80)
	for _, cell := range []float64{100, 250} {
		f := newGridFixture(t, cell, pts)
		for _, maxM := range []float64{0, 30, 150, 1500, 3000, 50000, 1e6, math.Inf(1)} {
			t.Run(fmt.Sprintf("cell=%v/max=%v", cell, maxM), func(t *testing.T) {
				for qi, q := range qs {
					want := f.bruteWithin(q[0], q[1], maxM)
					got := map[uint32]float64{}
					f.g.Within(q[0], q[1], maxM, func(id uint32, m float64) bool {
						if _, dup := got[id]; dup {
							t.Fatalf("query %d: %d reported twice", qi, id)
						}
						got[id] = m
						return true
					})
					if len(got) != len(want) {
						t.Fatalf("query %d %v: %d points, want %d", qi, q, len(got), len(want))
					}
					for id, m := range want {
						if gm, ok := got[id]; !ok || gm != m {
							t.Fatalf("query %d: point %d: got %v (%v), want %v", qi, id, gm, ok, m)
						}
					}
					if len(want) > 3 {
						n := 0
						f.g.Within(q[0], q[1], maxM, func(uint32, float64) bool { n++; return n < 3 })
						if n != 3 {
							t.Fatalf("query %d: Within went on after false: %d calls", qi, n)
						}
					}
				}
			})
		}
	}
}

func TestGridUpsertRemove(t *testing.T) {
	g := NewGrid(100)
	const lat, lng = 57.15, -2.1
	if _, _, ok := g.Position(0); ok {
		t.Error("Position on an empty grid")
	}
	if _, _, ok := g.Position(1 << 31); ok {
		t.Error("Position of an id past int32 on an empty grid")
	}
	if g.Remove(0) || g.Remove(1<<31) {
		t.Error("Remove on an empty grid")
	}
	for i := range uint32(10) {
		g.Upsert(i, lat, lng+float64(i)*0.0001) // about 6 m apart: a few cells
	}
	if g.Len() != 10 {
		t.Fatalf("Len = %d", g.Len())
	}
	near := func(lat, lng float64, id uint32) bool {
		return slices.ContainsFunc(g.Nearest(nil, lat, lng, 100, 10, nil), func(n Neighbour) bool { return n.ID == id })
	}
	steps := []struct {
		name               string
		id                 uint32
		lat, lng           float64
		remove             bool
		wantRemoved, moved bool
		wantLen            int
	}{
		{name: "move within its cell", id: 3, lat: lat + 0.00001, lng: lng + 0.0003, moved: true, wantLen: 10},
		{name: "move 2 km", id: 3, lat: lat + 0.02, lng: lng, moved: true, wantLen: 10},
		{name: "move a cell's first point away", id: 0, lat: lat - 0.01, lng: lng - 0.01, moved: true, wantLen: 10},
		{name: "move across the world", id: 5, lat: -33.9, lng: 151.2, moved: true, wantLen: 10},
		{name: "remove", id: 4, remove: true, wantRemoved: true, wantLen: 9},
		{name: "remove again", id: 4, remove: true, wantLen: 9},
		{name: "remove never inserted", id: 77, remove: true, wantLen: 9},
		{name: "re-insert", id: 4, lat: lat, lng: lng, moved: true, wantLen: 10},
		{name: "insert a sparse id", id: 100000, lat: lat, lng: lng, moved: true, wantLen: 11},
		{name: "remove the sparse id", id: 100000, remove: true, wantRemoved: true, wantLen: 10},
	}
	for _, st := range steps {
		oldLat, oldLng, had := g.Position(st.id)
		if st.remove {
			if got := g.Remove(st.id); got != st.wantRemoved {
				t.Errorf("%s: Remove = %v", st.name, got)
			}
			if _, _, ok := g.Position(st.id); ok {
				t.Errorf("%s: Position still found", st.name)
			}
			if had && near(oldLat, oldLng, st.id) {
				t.Errorf("%s: still found at its old position", st.name)
			}
		} else {
			g.Upsert(st.id, st.lat, st.lng)
			gl, gg, ok := g.Position(st.id)
			if !ok || math.Abs(gl-st.lat) > 1e-7 || math.Abs(gg-st.lng) > 1e-7 {
				t.Errorf("%s: Position = %v, %v, %v", st.name, gl, gg, ok)
			}
			if !near(st.lat, st.lng, st.id) {
				t.Errorf("%s: not found at its new position", st.name)
			}
			if had && ApproxMetres(oldLat, oldLng, gl, gg) > 20 && near(oldLat, oldLng, st.id) {
				t.Errorf("%s: still found at its old position", st.name)
			}
		}
		if g.Len() != st.wantLen {
			t.Errorf("%s: Len = %d, want %d", st.name, g.Len(), st.wantLen)
		}
	}
	// Everything else is where it was put.
	for i := range uint32(10) {
		if i == 0 || i == 3 || i == 4 || i == 5 {
			continue
		}
		gl, gg, ok := g.Position(i)
		if !ok || math.Abs(gl-lat) > 1e-7 || math.Abs(gg-(lng+float64(i)*0.0001)) > 1e-7 {
			t.Errorf("point %d: Position = %v, %v, %v", i, gl, gg, ok)
		}
	}
	for _, bad := range [][2]float64{{math.NaN(), 0}, {0, math.Inf(1)}, {90.5, 0}, {0, -180.01}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Upsert(%v) did not panic", bad)
				}
			}()
			g.Upsert(1, bad[0], bad[1])
		}()
	}
}

// TestGridRandomOperations checks the grid against a plain map through a
// long random run of inserts, moves (near and far) and removals, which
// exercises every swap-remove and slot fix-up, and emptied and reused
// blocks.
func TestGridRandomOperations(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := NewGrid(100)
	model := map[uint32][2]float64{}
	const ids = 3000
	randomPoint := func() [2]float64 {
		if r.IntN(5) == 0 {
			return [2]float64{50 + r.Float64()*10, -7 + r.Float64()*9}
		}
		return [2]float64{57.14 + r.NormFloat64()*0.003, -2.1 + r.NormFloat64()*0.005}
	}
	check := func(step int) {
		if g.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, want %d", step, g.Len(), len(model))
		}
		f := &gridFixture{g: g}
		for id := range uint32(ids + 10) {
			p, want := model[id]
			lat, lng, ok := g.Position(id)
			if ok != want || (ok && (lat != gridRound(p[0]) || lng != gridRound(p[1]))) {
				t.Fatalf("step %d: Position(%d) = %v, %v, %v; want %v, %v", step, id, lat, lng, ok, p, want)
			}
			if ok {
				f.ids = append(f.ids, id)
				f.setPos(id, lat, lng)
			}
		}
		for range 20 {
			q := randomPoint()
			k := 1 + r.IntN(30)
			maxM := []float64{300, 2000, math.Inf(1)}[r.IntN(3)]
			if got, want := g.Nearest(nil, q[0], q[1], k, maxM, nil), f.bruteNearest(q[0], q[1], k, maxM, nil); !slices.Equal(got, want) {
				t.Fatalf("step %d: Nearest(%v, k=%d, %v) = %v, want %v", step, q, k, maxM, gridHead(got), gridHead(want))
			}
		}
	}
	for step := range 30000 {
		id := uint32(r.IntN(ids))
		switch op := r.IntN(10); {
		case op < 5:
			p := randomPoint()
			g.Upsert(id, p[0], p[1])
			model[id] = p
		case op < 8:
			if p, ok := model[id]; ok {
				p[0] += r.NormFloat64() * 0.0005
				p[1] += r.NormFloat64() * 0.0008
				g.Upsert(id, p[0], p[1])
				model[id] = p
			}
		default:
			_, had := model[id]
			if g.Remove(id) != had {
				t.Fatalf("step %d: Remove(%d) != %v", step, id, had)
			}
			delete(model, id)
		}
		if step%3000 == 2999 {
			check(step)
		}
	}
	// Empty it completely, then use it again.
	for id := range model {
		g.Remove(id)
		delete(model, id)
	}
	check(-1)
	if n := len(g.blockOf); n != 0 {
		t.Errorf("%d blocks left in an empty grid", n)
	}
	g.Upsert(1, 57, -2)
	model[1] = [2]float64{57, -2}
	check(-2)
}

func gridRound(deg float64) float64 {
	return math.Round(deg*gridFixedPerDegree) * gridDegreePerFixed
}

func TestApproxMetres(t *testing.T) {
	// Destination along a great circle, so the true distance is d.
	dest := func(lat, lng, bearingDeg, d float64) (float64, float64) {
		const rad = math.Pi / 180
		phi, lambda, theta, delta := lat*rad, lng*rad, bearingDeg*rad, d/geo.EarthRadiusMetres
		phi2 := math.Asin(math.Sin(phi)*math.Cos(delta) + math.Cos(phi)*math.Sin(delta)*math.Cos(theta))
		lambda2 := lambda + math.Atan2(math.Sin(theta)*math.Sin(delta)*math.Cos(phi), math.Cos(delta)-math.Sin(phi)*math.Sin(phi2))
		return phi2 / rad, lambda2 / rad
	}
	worst := 0.0
	for _, lat := range []float64{50, 52.5, 55, 57.5, 60} {
		for _, d := range []float64{10, 30, 100, 300, 1000, 3000, 10000, 30000, 50000} {
			for bearing := 0.0; bearing < 360; bearing += 15 {
				lat2, lng2 := dest(lat, -3, bearing, d)
				got := ApproxMetres(lat, -3, lat2, lng2)
				want := geo.DistanceMetres(lat, -3, lat2, lng2)
				rel := math.Abs(got-want) / want
				worst = max(worst, rel)
				if rel > 0.005 {
					t.Errorf("lat %v, %v m at %v°: ApproxMetres %v, haversine %v (%.3f%%)", lat, d, bearing, got, want, 100*rel)
				}
				if back := ApproxMetres(lat2, lng2, lat, -3); back != got {
					t.Errorf("not symmetric: %v vs %v", got, back)
				}
			}
		}
	}
	t.Logf("worst relative error against haversine: %.2g", worst)
	if ApproxMetres(57, -2, 57, -2) != 0 {
		t.Error("distance to itself is not 0")
	}
}

func TestGridCosDeg(t *testing.T) {
	worst := 0.0
	for deg := -90.0; deg <= 90; deg += 0.001 {
		worst = max(worst, math.Abs(gridCosDeg(deg)-math.Cos(deg*math.Pi/180)))
	}
	if worst > 1e-10 {
		t.Errorf("gridCosDeg is off by %g", worst)
	}
}

func TestGridCellsAreSquare(t *testing.T) {
	g := NewGrid(100)
	for _, lat := range []float64{49, 52, 55, 58, 61} {
		by := int64(math.Floor(lat*g.rowsPerDegree)) >> gridBlockShift
		bd := g.growBand(by)
		width := bd.degPerCol * gridMetresPerDeg * math.Cos(lat*math.Pi/180)
		if math.Abs(width-100) > 0.1 || math.Abs(g.metresPerRow-100) > 1e-9 {
			t.Errorf("at %v°N a cell is %.3f m wide and %.3f m tall", lat, width, g.metresPerRow)
		}
	}
}

// TestGridSearchStopsEarly checks the work a search does, not just its
// answer: a dense grid must be answered from the cells around the query,
// and an empty neighbourhood abandoned once maxMetres is reached.
func TestGridSearchStopsEarly(t *testing.T) {
	g := NewGrid(100)
	// 100×100 points 20 m apart (25 per cell) around 57N 2W, and one far away.
	const lat0, lng0 = 57.0, -2.0
	for i := range 100 {
		for j := range 100 {
			g.Upsert(uint32(i*100+j), lat0+float64(i)*20/111195, lng0+float64(j)*20/(111195*math.Cos(lat0*math.Pi/180)))
		}
	}
	g.Upsert(20000, 52, -1)
	mid := [2]float64{lat0 + 1000/111195.0, lng0 + 1000/(111195*math.Cos(lat0*math.Pi/180))}
	tests := []struct {
		name           string
		lat, lng       float64
		k              int
		maxMetres      float64
		accept         func(uint32, float64) bool
		maxCells       int
		maxRings       int
		wantFound      int
		wantFoundLeast int
	}{
		{name: "k=1 in a dense grid, no limit", lat: mid[0], lng: mid[1], k: 1, maxMetres: math.Inf(1), maxCells: 9, maxRings: 2, wantFound: 1},
		{name: "k=20 in a dense grid", lat: mid[0], lng: mid[1], k: 20, maxMetres: 1500, maxCells: 9, maxRings: 2, wantFound: 20},
		{name: "k=500 in a dense grid", lat: mid[0], lng: mid[1], k: 500, maxMetres: 1500, maxCells: 49, maxRings: 4, wantFound: 500},
		{name: "nothing within 1 km", lat: 55, lng: -2, k: 5, maxMetres: 1000, maxCells: 0, maxRings: 12, wantFound: 0},
		{name: "just outside the grid", lat: lat0 - 450/111195.0, lng: mid[1], k: 5, maxMetres: 400, maxCells: 0, maxRings: 6, wantFound: 0},
		{name: "a filter that takes 1 in 50", lat: mid[0], lng: mid[1], k: 20, maxMetres: 1500, accept: func(id uint32, _ float64) bool { return id%50 == 0 }, maxCells: 121, maxRings: 6, wantFound: 20},
		{name: "the far point, unlimited", lat: 52.001, lng: -1, k: 1, maxMetres: math.Inf(1), maxCells: 1, maxRings: 3, wantFound: 1},
		{name: "everything, from far away", lat: 40, lng: 10, k: 20000, maxMetres: math.Inf(1), maxCells: 500, maxRings: 100, wantFound: 10001},
	}
	for _, tt := range tests {
		var s gridSearch
		s.nearest(g, nil, tt.lat, tt.lng, tt.k, tt.maxMetres, tt.accept)
		if len(s.res) != tt.wantFound {
			t.Errorf("%s: found %d, want %d", tt.name, len(s.res), tt.wantFound)
		}
		if s.cellsScanned > tt.maxCells || s.rings > tt.maxRings {
			t.Errorf("%s: scanned %d cells in %d rings, want at most %d in %d", tt.name, s.cellsScanned, s.rings, tt.maxCells, tt.maxRings)
		}
		t.Logf("%s: %d cells, %d rings", tt.name, s.cellsScanned, s.rings)
	}
}

// TestGridConcurrentReads runs searches in parallel; with -race it
// checks that searches never write to the grid.
func TestGridConcurrentReads(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pts := gridTestPoints(r)
	f := newGridFixture(t, 100, pts)
	qs := gridTestQueries(r, pts, 40)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i, q := range qs {
				if (i+w)%2 == 0 {
					f.g.Nearest(nil, q[0], q[1], 20, 3000, nil)
				} else {
					f.g.Within(q[0], q[1], 3000, func(uint32, float64) bool { return true })
				}
				f.g.Position(uint32(i))
				f.g.Len()
			}
		})
	}
	wg.Wait()
}

func TestNewGridPanics(t *testing.T) {
	for _, bad := range []float64{0, -100, math.NaN(), math.Inf(1), 1e-6} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewGrid(%v) did not panic", bad)
				}
			}()
			NewGrid(bad)
		}()
	}
}

func TestSyntheticPoints(t *testing.T) {
	a, b := syntheticPoints(25000, 9), syntheticPoints(25000, 9)
	if !slices.Equal(a, b) {
		t.Fatal("syntheticPoints is not reproducible")
	}
	if c := syntheticPoints(25000, 10); slices.Equal(a, c) {
		t.Fatal("syntheticPoints ignores the seed")
	}
	// 25,000 points are three tiles; every point is within one of them.
	for _, p := range a {
		if !geo.ValidLatLng(p[0], p[1]) || p[0] < 56.5 || p[0] > 57.3 || p[1] < -3.5 || p[1] > -1.9 {
			t.Fatalf("point %v outside the tiles", p)
		}
	}
	// Density is city-like: the typical point has tens of others within
	// 300 m, not thousands.
	f := newGridFixture(t, 100, a)
	counts := []int{}
	for _, p := range a[:500] {
		n := 0
		f.g.Within(p[0], p[1], 300, func(uint32, float64) bool { n++; return true })
		counts = append(counts, n)
	}
	slices.Sort(counts)
	med := counts[len(counts)/2]
	t.Logf("points within 300 m of a point: median %d, 90th percentile %d", med, counts[len(counts)*9/10])
	if med < 5 || med > 500 {
		t.Errorf("median neighbours within 300 m = %d: not city-like", med)
	}
}
