package matcher

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// asgCity describes a synthetic dispatch instance: requests and volunteers
// at uniform random points of a square city, each request's candidates its
// nearest volunteers within a radius, the cost the distance in metres.
type asgCity struct {
	requests, volunteers int
	sideMetres           float64 // the city is a square of this side
	radiusMetres         float64 // candidates at most this far
	nearest              int     // and at most this many per request
	seed                 uint64
}

var asgCityCache sync.Map // asgCity -> *AssignmentProblem

// problem returns the instance, built once per process.
func (c asgCity) problem() *AssignmentProblem {
	if p, ok := asgCityCache.Load(c); ok {
		return p.(*AssignmentProblem)
	}
	p, _, _ := c.build()
	asgCityCache.Store(c, p)
	return p
}

type asgPoint struct{ x, y float64 }

// build makes the instance and returns the points too: capacities 1-2,
// urgencies 10% 4, 20% 3, 50% 2, 20% 1.
func (c asgCity) build() (p *AssignmentProblem, reqs, vols []asgPoint) {
	rng := rand.New(rand.NewPCG(c.seed, 0x646f6f7273746570))
	type point = asgPoint
	vols = make([]point, c.volunteers)
	reqs = make([]point, c.requests)
	p = &AssignmentProblem{
		Urgency:  make([]int8, c.requests),
		Edges:    make([][]Edge, c.requests),
		Capacity: make([]int32, c.volunteers),
	}
	for v := range vols {
		vols[v] = point{rng.Float64() * c.sideMetres, rng.Float64() * c.sideMetres}
		p.Capacity[v] = 1 + rng.Int32N(2)
	}

	// A bucket grid of volunteers, about c.nearest per cell.
	cell := math.Sqrt(c.sideMetres * c.sideMetres * float64(c.nearest) / float64(max(c.volunteers, 1)))
	n := int(math.Ceil(c.sideMetres / cell))
	cellOf := func(x float64) int { return min(max(int(x/cell), 0), n-1) }
	heads := make([]int32, n*n+1) // counting sort: volunteers of cell i are order[heads[i]:heads[i+1]]
	for _, q := range vols {
		heads[cellOf(q.y)*n+cellOf(q.x)+1]++
	}
	for i := 1; i < len(heads); i++ {
		heads[i] += heads[i-1]
	}
	order := make([]int32, len(vols))
	fill := slices.Clone(heads)
	for v, q := range vols {
		i := cellOf(q.y)*n + cellOf(q.x)
		order[fill[i]] = int32(v)
		fill[i]++
	}

	type cand struct {
		d float64
		v int32
	}
	var cands []cand
	for r := range p.Urgency {
		switch x := rng.IntN(10); {
		case x == 0:
			p.Urgency[r] = 4
		case x <= 2:
			p.Urgency[r] = 3
		case x <= 7:
			p.Urgency[r] = 2
		default:
			p.Urgency[r] = 1
		}
		q := point{rng.Float64() * c.sideMetres, rng.Float64() * c.sideMetres}
		reqs[r] = q
		cx, cy := cellOf(q.x), cellOf(q.y)
		cands = cands[:0]
		// Visit square rings of cells around q; every volunteer outside
		// ring k is at least k·cell away, so stop once the nearest found
		// are within that, or the radius is exceeded.
		for ring := 0; ring < n; ring++ {
			for y := cy - ring; y <= cy+ring; y++ {
				if y < 0 || y >= n {
					continue
				}
				for x := cx - ring; x <= cx+ring; x++ {
					if x < 0 || x >= n || (y != cy-ring && y != cy+ring && x != cx-ring && x != cx+ring) {
						continue
					}
					for _, v := range order[heads[y*n+x]:heads[y*n+x+1]] {
						if d := math.Hypot(vols[v].x-q.x, vols[v].y-q.y); d <= c.radiusMetres {
							cands = append(cands, cand{d, v})
						}
					}
				}
			}
			reach := float64(ring) * cell
			if reach >= c.radiusMetres {
				break
			}
			if len(cands) >= c.nearest {
				slices.SortFunc(cands, func(a, b cand) int {
					if a.d != b.d {
						if a.d < b.d {
							return -1
						}
						return 1
					}
					return int(a.v - b.v)
				})
				if cands[c.nearest-1].d <= reach {
					break
				}
			}
		}
		slices.SortFunc(cands, func(a, b cand) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return int(a.v - b.v)
		})
		cands = cands[:min(len(cands), c.nearest)]
		es := make([]Edge, len(cands))
		for i, k := range cands {
			es[i] = Edge{Volunteer: k.v, Cost: int64(math.Round(k.d))}
		}
		p.Edges[r] = es
	}
	return p, reqs, vols
}

var asgBenchCities = []struct {
	name string
	city asgCity
}{
	// A busy day in a city: plenty of volunteers (the 150 ms budget case).
	{"R=20000_V=200000", asgCity{20_000, 200_000, 15_000, 2_000, 20, 1}},
	// Scarcity as the issue states it: as many volunteers as requests.
	// With capacities 1-2 the total capacity is still ~1.5 R, and with 20
	// candidates each greedy already covers ~99.75%.
	{"scarcity_R=15000_V=15000", asgCity{15_000, 15_000, 15_000, 2_000, 20, 2}},
	// Not in the issue: a real shortage, total capacity ~R (V = 2R/3).
	// This is where the optimum covers markedly more than greedy, and where
	// the solver is slowest (long augmenting paths; see solver.go).
	{"shortage_R=15000_V=10000", asgCity{15_000, 10_000, 15_000, 2_000, 20, 2}},
}

func BenchmarkSolveAssignment(b *testing.B) {
	for _, bc := range asgBenchCities {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.city.problem()
			greedy := GreedyNearestFirst(p)
			var a Assignment
			b.ReportAllocs()
			for b.Loop() {
				var err error
				a, err = SolveAssignment(p)
				if err != nil {
					b.Fatal(err)
				}
			}
			asgReportVsGreedy(b, p, a, greedy)
		})
	}
}

func BenchmarkGreedyNearestFirst(b *testing.B) {
	for _, bc := range asgBenchCities {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.city.problem()
			var g Assignment
			b.ReportAllocs()
			for b.Loop() {
				g = GreedyNearestFirst(p)
			}
			b.ReportMetric(float64(g.Covered), "covered")
		})
	}
}

func asgReportVsGreedy(b *testing.B, p *AssignmentProblem, a, g Assignment) {
	edges := 0
	for _, es := range p.Edges {
		edges += len(es)
	}
	b.ReportMetric(float64(edges), "edges")
	b.ReportMetric(float64(a.Covered), "covered")
	b.ReportMetric(float64(g.Covered), "greedy-covered")
	b.ReportMetric(100*float64(a.Covered-g.Covered)/float64(max(g.Covered, 1)), "extra-%")
	b.ReportMetric(float64(a.CoveredByUrgency[4]), "covered-u4")
	b.ReportMetric(float64(g.CoveredByUrgency[4]), "greedy-covered-u4")
	b.ReportMetric(float64(a.Cost)/float64(max(a.Covered, 1)), "metres/covered")
	b.ReportMetric(float64(g.Cost)/float64(max(g.Covered, 1)), "greedy-metres/covered")
}

// TestAsgCityGenerator checks the benchmark generator against a
// brute-force nearest-neighbour search: each request's edges are its
// nearest volunteers within the radius, nearest first.
func TestAsgCityGenerator(t *testing.T) {
	for _, c := range []asgCity{
		{500, 3000, 5_000, 400, 8, 9},   // dense: the 8 nearest are close
		{300, 300, 5_000, 1_000, 8, 10}, // sparse: the radius cuts
	} {
		p, reqs, vols := c.build()
		if _, err := SolveAssignment(p); err != nil {
			t.Fatal(err)
		}
		var hist [5]int
		for r, es := range p.Edges {
			hist[p.Urgency[r]]++
			var want []int64
			for _, v := range vols {
				if d := math.Hypot(v.x-reqs[r].x, v.y-reqs[r].y); d <= c.radiusMetres {
					want = append(want, int64(math.Round(d)))
				}
			}
			slices.Sort(want)
			want = want[:min(len(want), c.nearest)]
			got := make([]int64, len(es))
			for i, e := range es {
				got[i] = e.Cost
			}
			if !slices.Equal(got, want) {
				t.Fatalf("request %d: candidate distances %v, brute force %v", r, got, want)
			}
		}
		if hist[0] != 0 || hist[4] == 0 || hist[2] < hist[3] || hist[3] == 0 || hist[1] == 0 {
			t.Fatalf("urgency mix %v", hist)
		}
		for _, c := range p.Capacity {
			if c != 1 && c != 2 {
				t.Fatalf("capacity %d", c)
			}
		}
	}
}
