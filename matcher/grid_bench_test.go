package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/geo"
)

// The synthetic volunteers: the live Aberdeen postcode centroids of the
// sample, 70% of points within about 150 m of one (gaussian, 60 m on each
// axis, so 95% within 147 m) and 30% uniform over the centroids' bounding
// box. Each copy of that pattern ("tile") gets synthPerTile points, about
// one for every 20-25 residents of a city of Aberdeen's size (the order of
// the 2020 mutual-aid sign-ups), and more points mean more tiles, not a
// denser city. Tiles sit 0.25 degree apart in latitude and 0.5 degree in
// longitude (about 28 km by 30 km at 57N: the pattern is 0.27 degree wide,
// so 0.25 would overlap it), on a square-ish grid running south and west
// from Aberdeen: 1M points are 100 tiles covering 54.8-57.2N, 2.1-6.8W.
const (
	synthPerTile      = 10000
	synthTileLat      = 0.25
	synthTileLng      = 0.5
	synthJitterMetres = 60
	synthClustered    = 0.7
	synthSample       = "../testdata/onspd_aberdeen_sample.csv"
)

var synthPattern struct {
	once                       sync.Once
	centroids                  [][2]float64
	latLo, latHi, lngLo, lngHi float64
}

// synthLoad reads the live centroids once. The sample also holds a few
// London and Manchester postcodes; only centroids within half a degree of
// the median are the Aberdeen pattern.
func synthLoad() {
	f, err := os.Open(synthSample)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	var all [][2]float64
	if _, err := geo.ReadONSPD(f, func(e geo.PostcodeEntry) error {
		if !e.Terminated {
			all = append(all, [2]float64{e.Lat, e.Lng})
		}
		return nil
	}); err != nil {
		panic(err)
	}
	median := func(i int) float64 {
		v := make([]float64, len(all))
		for j, p := range all {
			v[j] = p[i]
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	mlat, mlng := median(0), median(1)
	p := &synthPattern
	p.latLo, p.lngLo = math.Inf(1), math.Inf(1)
	p.latHi, p.lngHi = math.Inf(-1), math.Inf(-1)
	for _, c := range all {
		if math.Abs(c[0]-mlat) > 0.5 || math.Abs(c[1]-mlng) > 0.5 {
			continue
		}
		p.centroids = append(p.centroids, c)
		p.latLo, p.latHi = math.Min(p.latLo, c[0]), math.Max(p.latHi, c[0])
		p.lngLo, p.lngHi = math.Min(p.lngLo, c[1]), math.Max(p.lngHi, c[1])
	}
	if len(p.centroids) < 4000 {
		panic(fmt.Sprintf("synthetic points: only %d Aberdeen centroids in %s", len(p.centroids), synthSample))
	}
}

// syntheticPoints returns n realistic volunteer homes as (lat, lng),
// the same for the same n and seed.
func syntheticPoints(n int, seed uint64) [][2]float64 {
	return synthPointsTiled(n, synthTiles(n), seed)
}

// synthTiles is how many copies of the Aberdeen pattern n points fill.
func synthTiles(n int) int {
	return max(1, (n+synthPerTile-1)/synthPerTile)
}

// synthPointsTiled draws n points spread evenly over the given number of
// tiles (queries for a data set of N points use synthTiles(N)).
func synthPointsTiled(n, tiles int, seed uint64) [][2]float64 {
	synthPattern.once.Do(synthLoad)
	p := &synthPattern
	r := rand.New(rand.NewPCG(seed, 0x5eed0f0d00257e95))
	cols := int(math.Ceil(math.Sqrt(float64(tiles))))
	const metresPerDeg = 111195.0
	out := make([][2]float64, n)
	for i := range out {
		t := r.IntN(tiles)
		dlat, dlng := -synthTileLat*float64(t/cols), -synthTileLng*float64(t%cols)
		var lat, lng float64
		if r.Float64() < synthClustered {
			c := p.centroids[r.IntN(len(p.centroids))]
			lat = c[0] + r.NormFloat64()*synthJitterMetres/metresPerDeg
			lng = c[1] + r.NormFloat64()*synthJitterMetres/(metresPerDeg*math.Cos(c[0]*math.Pi/180))
		} else {
			lat = p.latLo + r.Float64()*(p.latHi-p.latLo)
			lng = p.lngLo + r.Float64()*(p.lngHi-p.lngLo)
		}
		out[i] = [2]float64{lat + dlat, lng + dlng}
	}
	return out
}

// Benchmark data is generated and built once per process: b.Loop runs
// each benchmark function once, but Nearest's sub-benchmarks and Upsert
// would otherwise each pay for a 1M build.
var gridBench struct {
	sync.Mutex
	points map[int][][2]float64
}

func benchPoints(n int) [][2]float64 {
	gridBench.Lock()
	defer gridBench.Unlock()
	if gridBench.points == nil {
		gridBench.points = map[int][][2]float64{}
	}
	pts, ok := gridBench.points[n]
	if !ok {
		pts = syntheticPoints(n, 1)
		gridBench.points[n] = pts
	}
	return pts
}

func benchBuild(pts [][2]float64) *Grid {
	g := NewGrid(gridBenchCellMetres)
	for i, p := range pts {
		g.Upsert(uint32(i), p[0], p[1])
	}
	return g
}

// gridBenchCellMetres is the intended default cell size.
const gridBenchCellMetres = 100

const benchQueries = 10000

// BenchmarkGridNearest: k=20 within 1500 m, queries drawn like the points
// (70% near a postcode, 30% anywhere in a city's box). ns/op is the mean
// over b.N queries cycling through a fixed set of 10,000; p50-ns, p99-ns
// and max-ns time each query of that set once more, separately (each
// timing includes a time.Now pair, about 50-100 ns on this VM); warm-ns is
// the mean with each query's data already in cache; cells/op, points/op and
// found/op count the cells and points scanned and the results.
func BenchmarkGridNearest(b *testing.B) {
	for _, n := range []int{200_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			g := benchBuild(benchPoints(n))
			qs := synthPointsTiled(benchQueries, synthTiles(n), 2)
			const k, maxMetres = 20, 1500
			dst := make([]Neighbour, 0, k)

			i := 0
			for b.Loop() {
				q := qs[i%len(qs)]
				dst = g.Nearest(dst[:0], q[0], q[1], k, maxMetres, nil)
				i++
			}

			took := make([]time.Duration, len(qs))
			for j, q := range qs {
				t0 := time.Now()
				dst = g.Nearest(dst[:0], q[0], q[1], k, maxMetres, nil)
				took[j] = time.Since(t0)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(took[len(took)-1].Nanoseconds()), "max-ns")

			// The same queries with the cache warm (each repeated, the
			// repeats timed): what the search costs apart from memory.
			const warmQueries, repeats = 1000, 8
			var warm time.Duration
			for _, q := range qs[:warmQueries] {
				dst = g.Nearest(dst[:0], q[0], q[1], k, maxMetres, nil)
				t0 := time.Now()
				for range repeats {
					dst = g.Nearest(dst[:0], q[0], q[1], k, maxMetres, nil)
				}
				warm += time.Since(t0)
			}
			b.ReportMetric(float64(warm.Nanoseconds())/(warmQueries*repeats), "warm-ns")

			cells, points, found := 0, 0, 0
			for _, q := range qs {
				var s gridSearch
				s.nearest(g, dst[:0], q[0], q[1], k, maxMetres, nil)
				cells += s.cellsScanned
				points += s.pointsScanned
				found += len(s.res)
			}
			b.ReportMetric(float64(cells)/float64(len(qs)), "cells/op")
			b.ReportMetric(float64(points)/float64(len(qs)), "points/op")
			b.ReportMetric(float64(found)/float64(len(qs)), "found/op")
		})
	}
}

// BenchmarkGridUpsert moves points of a 1M grid by up to 200 m: each of
// 65,536 prepared moves goes back and forth between two positions 0-200 m
// apart (the first pass from the original home), so every op is a real
// move; moved/op is the fraction that changed cell.
func BenchmarkGridUpsert(b *testing.B) {
	const n = 1_000_000
	pts := benchPoints(n)
	g := benchBuild(pts)
	r := rand.New(rand.NewPCG(3, 3))
	type move struct {
		id   uint32
		a, b [2]float64
	}
	offset := func(p [2]float64) [2]float64 {
		d, theta := 200*math.Sqrt(r.Float64()), 2*math.Pi*r.Float64()
		return [2]float64{
			p[0] + d*math.Sin(theta)/111195,
			p[1] + d*math.Cos(theta)/(111195*math.Cos(p[0]*math.Pi/180)),
		}
	}
	moves := make([]move, 1<<16)
	for i := range moves {
		id := uint32(r.IntN(n))
		a := offset(pts[id])
		moves[i] = move{id: id, a: a, b: offset(a)}
	}
	i := 0
	for b.Loop() {
		m := &moves[i&(len(moves)-1)]
		if i>>16&1 == 0 {
			g.Upsert(m.id, m.a[0], m.a[1])
		} else {
			g.Upsert(m.id, m.b[0], m.b[1])
		}
		i++
	}
	changed := 0
	for _, m := range moves {
		if gridCellOf(g, m.a) != gridCellOf(g, m.b) {
			changed++
		}
	}
	b.ReportMetric(float64(changed)/float64(len(moves)), "moved/op")
	if g.Len() != n {
		b.Fatalf("Len = %d after moves, want %d", g.Len(), n)
	}
}

// gridCellOf names the cell a position falls in, as Upsert computes it.
func gridCellOf(g *Grid, p [2]float64) [2]int64 {
	lat := math.Round(p[0]*gridFixedPerDegree) * gridDegreePerFixed
	lng := math.Round(p[1]*gridFixedPerDegree) * gridDegreePerFixed
	cy := int64(math.Floor(lat * g.rowsPerDegree))
	bd, _ := g.band(cy >> gridBlockShift)
	return [2]int64{cy, int64(math.Floor(lng * bd.colsPerDegree))}
}

// BenchmarkGridBuild inserts 1M points into an empty grid; ns/op is the
// whole build, bytes/point the live heap it adds (after a GC).
func BenchmarkGridBuild(b *testing.B) {
	const n = 1_000_000
	pts := benchPoints(n)
	var perPoint float64
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()

		g := benchBuild(pts)

		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perPoint = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
		runtime.KeepAlive(g)
		b.StartTimer()
	}
	b.ReportMetric(perPoint, "bytes/point")
}
