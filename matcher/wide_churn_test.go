package matcher

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGridWideBlockChurn: a block whose arena crosses 16-bit headers'
// reach and back again, more than once, without ever emptying (so that
// it keeps its wide headers through arena rebuilds with little in them),
// finds what brute force finds at every turn, with its holes where its
// headers say.
func TestGridWideBlockChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	g := NewGrid(100)
	pos := map[uint32][2]float64{}
	at := func() (float64, float64) {
		if rng.IntN(4) == 0 {
			return 57.15, -2.1 // one crowded cell
		}
		return 57.145 + rng.Float64()*0.01, -2.105 + rng.Float64()*0.01
	}
	next := uint32(0)
	check := func(stage string) {
		t.Helper()
		checkHoles(t, stage, g)
		for range 3 {
			lat, lng := at()
			k, m := []int{1, 30, 400}[rng.IntN(3)], []float64{150, 600}[rng.IntN(2)]
			var all []Neighbour
			for id, p := range pos {
				if d := ApproxMetres(lat, lng, p[0], p[1]); d <= m {
					all = append(all, Neighbour{ID: id, Metres: d})
				}
			}
			slices.SortFunc(all, func(a, b Neighbour) int {
				return cmp.Or(cmp.Compare(a.Metres, b.Metres), cmp.Compare(a.ID, b.ID))
			})
			want := all[:min(k, len(all))]
			if got := g.Nearest(nil, lat, lng, k, m, nil); !slices.Equal(got, want) {
				t.Fatalf("%s: Nearest(%v, %v, %d, %v): %d results, want %d", stage, lat, lng, k, m, len(got), len(want))
			}
			n := 0
			g.Within(lat, lng, m, func(uint32, float64) bool { n++; return true })
			if n != len(all) {
				t.Fatalf("%s: Within saw %d, want %d", stage, n, len(all))
			}
		}
	}
	wide := func() bool {
		for _, b := range g.blocks[1:] {
			if b.wide != nil {
				return true
			}
		}
		return false
	}
	ids := func() []uint32 {
		out := make([]uint32, 0, len(pos))
		for id := range pos {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	for round, target := range []int{70000, 50, 80000, 3000, 69000, 1} {
		for len(pos) < target {
			lat, lng := at()
			g.Upsert(next, lat, lng)
			pos[next] = [2]float64{gridStored(lat), gridStored(lng)}
			next++
		}
		if len(pos) > target {
			live := ids()
			rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
			for _, id := range live[:len(pos)-target] {
				if rng.IntN(8) == 0 {
					// Moved within the block rather than removed, then
					// removed: a move re-adds to a cell, rebuilding.
					lat, lng := at()
					g.Upsert(id, lat, lng)
				}
				g.Remove(id)
				delete(pos, id)
			}
		}
		if round > 0 && !wide() {
			t.Fatalf("round %d: the block narrowed without emptying", round)
		}
		check("round " + string(rune('0'+round)))
		// Churn at this size: moves that fill runs and rebuild arenas,
		// and removals made up by new points.
		live := ids()
		for i := range 2000 {
			j := rng.IntN(len(live))
			lat, lng := at()
			if i%4 == 0 {
				g.Remove(live[j])
				delete(pos, live[j])
				live[j] = next
				next++
			}
			g.Upsert(live[j], lat, lng)
			pos[live[j]] = [2]float64{gridStored(lat), gridStored(lng)}
		}
		check("churned round " + string(rune('0'+round)))
	}
}
