package matcher

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMaxCoverRandom: on random problems, small and large, sparse and
// dense, maxCover's assignment is valid (each request one of its
// candidates, no volunteer past their capacity) and covers as many as the
// solver's; and the requests a path of candidates leads to from one left
// uncovered (contested) are the same for both, as the decomposition
// theorem maxCover relies on says they are for any two assignments that
// cover as many as can be.
func TestMaxCoverRandom(t *testing.T) {
	differ := 0
	for seed := range 3000 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		size := []int{6, 12, 40, 150}[seed%4]
		p := asgRandomProblem(rng, size, size)
		if seed%8 == 7 { // scarce: every volunteer free for one
			for v := range p.Capacity {
				p.Capacity[v] = 1
			}
		}
		want, err := SolveAssignment(p)
		if err != nil {
			t.Fatal(err)
		}
		got := maxCover(p)
		used := make([]int32, len(p.Capacity))
		covered := 0
		for r, v := range got.Volunteer {
			if v < 0 {
				continue
			}
			covered++
			if used[v]++; used[v] > p.Capacity[v] {
				t.Fatalf("seed %d: volunteer %d given %d, past their capacity %d", seed, v, used[v], p.Capacity[v])
			}
			if !slices.ContainsFunc(p.Edges[r], func(e Edge) bool { return e.Volunteer == v }) {
				t.Fatalf("seed %d: request %d given %d, not a candidate", seed, r, v)
			}
		}
		if covered != got.Covered || got.Covered != want.Covered {
			t.Fatalf("seed %d: maxCover covers %d (says %d), the solver %d", seed, covered, got.Covered, want.Covered)
		}
		if a, b := contested(p, got), contested(p, want); !slices.Equal(a, b) {
			t.Fatalf("seed %d: contested from maxCover's %v, from the solver's %v", seed, a, b)
		}
		if !slices.Equal(got.Volunteer, want.Volunteer) {
			differ++
		}
	}
	// The sets agree even where the assignments do not.
	if differ < 500 {
		t.Fatalf("maxCover's assignment differed from the solver's in only %d problems: the test proves little", differ)
	}
}
