package matcher

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// plainGrid is the textbook index the reference figure describes
// ("a uniform grid of about 100 m cells with coordinates stored inline
// finds the 20 nearest of 1M points in about 2 microseconds"): one flat
// array of points sorted by cell, a dense array of cell offsets over the
// points' bounding box, and a ring-by-ring search. It has no tags, rules,
// updates or block summaries. It exists only so that BenchmarkPlainGrid
// can say how fast this machine runs that reference, which puts the
// engine's own figures in proportion: a machine on which the plain grid
// takes 5 µs is not the machine the targets were set on.
type plainGrid struct {
	lat0, lng0   float64 // the box's south-west corner
	dLat, dLng   float64 // a cell's size in degrees
	rows, cols   int
	start        []uint32 // cell c's points are pts[start[c]:start[c+1]]
	pts          []plainPoint
	cosLat       float64
	metresPerDeg float64
}

type plainPoint struct {
	lat, lng float32
	id       uint32
}

func newPlainGrid(points [][2]float64, cellMetres float64) *plainGrid {
	minLat, minLng, maxLat, maxLng := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range points {
		minLat, maxLat = min(minLat, p[0]), max(maxLat, p[0])
		minLng, maxLng = min(minLng, p[1]), max(maxLng, p[1])
	}
	g := &plainGrid{lat0: minLat, lng0: minLng, metresPerDeg: gridMetresPerDeg}
	g.cosLat = math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	g.dLat = cellMetres / g.metresPerDeg
	g.dLng = g.dLat / g.cosLat
	g.rows = int((maxLat-minLat)/g.dLat) + 1
	g.cols = int((maxLng-minLng)/g.dLng) + 1
	count := make([]uint32, g.rows*g.cols+1)
	cellOf := make([]int, len(points))
	for i, p := range points {
		cellOf[i] = g.cell(p[0], p[1])
		count[cellOf[i]+1]++
	}
	for c := 1; c < len(count); c++ {
		count[c] += count[c-1]
	}
	g.start = count
	g.pts = make([]plainPoint, len(points))
	fill := slices.Clone(count[:len(count)-1])
	for i, p := range points {
		c := cellOf[i]
		g.pts[fill[c]] = plainPoint{float32(p[0]), float32(p[1]), uint32(i)}
		fill[c]++
	}
	return g
}

func (g *plainGrid) cell(lat, lng float64) int {
	r := min(max(int((lat-g.lat0)/g.dLat), 0), g.rows-1)
	c := min(max(int((lng-g.lng0)/g.dLng), 0), g.cols-1)
	return r*g.cols + c
}

// nearest appends the k nearest within maxMetres to dst (unordered), by
// rings of cells around the query's until the next ring cannot hold a
// point nearer than the k-th found.
func (g *plainGrid) nearest(dst []Neighbour, lat, lng float64, k int, maxMetres float64) []Neighbour {
	r0 := int((lat - g.lat0) / g.dLat)
	c0 := int((lng - g.lng0) / g.dLng)
	h := dst[:0]
	bound := maxMetres
	scan := func(r, c int) {
		if r < 0 || r >= g.rows || c < 0 || c >= g.cols {
			return
		}
		cell := r*g.cols + c
		for _, p := range g.pts[g.start[cell]:g.start[cell+1]] {
			dy := float64(p.lat) - lat
			dx := (float64(p.lng) - lng) * g.cosLat
			d := g.metresPerDeg * math.Sqrt(dy*dy+dx*dx)
			if d > bound {
				continue
			}
			if len(h) < k {
				h = append(h, Neighbour{ID: p.id, Metres: d})
				gridSiftUp(h, len(h)-1)
				if len(h) == k {
					bound = h[0].Metres
				}
				continue
			}
			h[0] = Neighbour{ID: p.id, Metres: d}
			gridSiftDown(h, 0)
			bound = h[0].Metres
		}
	}
	for ring := 0; ; ring++ {
		// Every point of ring r is at least (r-1) cells away.
		if ring > 0 && float64(ring-1)*g.dLat*g.metresPerDeg > bound {
			return h
		}
		if ring == 0 {
			scan(r0, c0)
			continue
		}
		for c := c0 - ring; c <= c0+ring; c++ {
			scan(r0-ring, c)
			scan(r0+ring, c)
		}
		for r := r0 - ring + 1; r <= r0+ring-1; r++ {
			scan(r, c0-ring)
			scan(r, c0+ring)
		}
	}
}

// TestPlainGridNearest checks the reference against brute force, so that
// its timings are of a search that works.
func TestPlainGridNearest(t *testing.T) {
	pts := syntheticPoints(20_000, 7)
	g := newPlainGrid(pts, gridBenchCellMetres)
	qs := synthPointsTiled(300, synthTiles(len(pts)), 8)
	for _, q := range qs {
		got := g.nearest(nil, q[0], q[1], 20, 1500)
		var want []float64
		for _, p := range pts {
			dy := float64(float32(p[0])) - q[0]
			dx := (float64(float32(p[1])) - q[1]) * g.cosLat
			if d := g.metresPerDeg * math.Sqrt(dy*dy+dx*dx); d <= 1500 {
				want = append(want, d)
			}
		}
		slices.Sort(want)
		want = want[:min(20, len(want))]
		var gotD []float64
		for _, n := range got {
			gotD = append(gotD, n.Metres)
		}
		slices.Sort(gotD)
		if !slices.Equal(gotD, want) {
			t.Fatalf("query %v: got %v, want %v", q, gotD, want)
		}
	}
}

// BenchmarkPlainGrid times the reference index on the same points and
// queries as BenchmarkGridNearest: k=20 within 1500 m.
//
//	go test -run '^$' -bench 'PlainGrid|GridNearest' -benchtime 200000x ./matcher/
func BenchmarkPlainGrid(b *testing.B) {
	for _, n := range []int{200_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			g := newPlainGrid(benchPoints(n), gridBenchCellMetres)
			qs := synthPointsTiled(benchQueries, synthTiles(n), 2)
			dst := make([]Neighbour, 0, 20)
			i := 0
			for b.Loop() {
				q := qs[i%len(qs)]
				dst = g.nearest(dst, q[0], q[1], 20, 1500)
				i++
			}
			took := make([]time.Duration, len(qs))
			for j, q := range qs {
				t0 := time.Now()
				dst = g.nearest(dst, q[0], q[1], 20, 1500)
				took[j] = time.Since(t0)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
