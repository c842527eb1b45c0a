package matcher

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
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

// maxCoverOracle is how many of p's requests can be covered, by augmenting
// paths found one at a time from each request (Ford and Fulkerson), apart
// from maxCover's phases.
func maxCoverOracle(p *AssignmentProblem) int {
	nr, nv := len(p.Urgency), len(p.Capacity)
	assign := make([]int32, nr)
	for i := range assign {
		assign[i] = -1
	}
	load := make([]int32, nv)
	var seen []bool
	var try func(r int) bool
	try = func(r int) bool {
		for _, e := range p.Edges[r] {
			v := e.Volunteer
			if seen[v] {
				continue
			}
			seen[v] = true
			if load[v] < p.Capacity[v] {
				load[v]++
				assign[r] = v
				return true
			}
			for r2 := range nr {
				if assign[r2] == v && try(r2) {
					assign[r] = v
					return true
				}
			}
		}
		return false
	}
	n := 0
	for r := range nr {
		seen = make([]bool, nv)
		if try(r) {
			n++
		}
	}
	return n
}

// maxCoverHardProblem is a random problem of one of two kinds that make
// for long augmenting paths: a ladder (request i lists volunteers i and
// i+1, now and then one more), or a few volunteers of capacity up to 6
// listed by many requests.
func maxCoverHardProblem(rng *rand.Rand, kind int) *AssignmentProblem {
	switch kind {
	case 0: // a ladder, each list in random order
		n := 2 + rng.IntN(60)
		p := &AssignmentProblem{Urgency: make([]int8, n), Edges: make([][]Edge, n), Capacity: make([]int32, n)}
		for v := range p.Capacity {
			p.Capacity[v] = int32(rng.IntN(2) + rng.IntN(2))
		}
		for r := range n {
			vs := []int32{int32(r)}
			if r+1 < n {
				vs = append(vs, int32(r+1))
			}
			if rng.IntN(4) == 0 {
				vs = append(vs, int32(rng.IntN(n)))
			}
			slices.Sort(vs)
			vs = slices.Compact(vs)
			rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
			for _, v := range vs {
				p.Edges[r] = append(p.Edges[r], Edge{Volunteer: v, Cost: rng.Int64N(100)})
			}
			p.Edges[r] = slices.CompactFunc(p.Edges[r], func(a, b Edge) bool { return a.Volunteer == b.Volunteer })
		}
		return p
	default: // few volunteers, many requests
		nr, nv := rng.IntN(80), 1+rng.IntN(12)
		p := &AssignmentProblem{Urgency: make([]int8, nr), Edges: make([][]Edge, nr), Capacity: make([]int32, nv)}
		for v := range p.Capacity {
			p.Capacity[v] = int32(rng.IntN(7))
		}
		for r := range nr {
			p.Urgency[r] = int8(rng.IntN(5))
			for _, v := range rng.Perm(nv)[:rng.IntN(min(nv, 4)+1)] {
				p.Edges[r] = append(p.Edges[r], Edge{Volunteer: int32(v), Cost: rng.Int64N(1000)})
			}
		}
		return p
	}
}

// TestMaxCoverAdversarial: on 20,000 problems built for long augmenting
// paths, maxCover's assignment is valid and covers as many as the oracle
// and the solver, with the same contested requests as the solver's.
func TestMaxCoverAdversarial(t *testing.T) {
	for seed := range 20000 {
		rng := rand.New(rand.NewPCG(uint64(seed), 34))
		p := maxCoverHardProblem(rng, seed%2)
		if _, err := SolveAssignment(p); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		got := maxCover(p)
		used := make([]int32, len(p.Capacity))
		for r, v := range got.Volunteer {
			if v < 0 {
				continue
			}
			if used[v]++; used[v] > p.Capacity[v] {
				t.Fatalf("seed %d: over capacity", seed)
			}
			if !slices.ContainsFunc(p.Edges[r], func(e Edge) bool { return e.Volunteer == v }) {
				t.Fatalf("seed %d: not a candidate", seed)
			}
		}
		want := maxCoverOracle(p)
		if got.Covered != want {
			t.Fatalf("seed %d: maxCover %d, oracle %d", seed, got.Covered, want)
		}
		sol, err := SolveAssignment(p)
		if err != nil {
			t.Fatal(err)
		}
		if sol.Covered != want {
			t.Fatalf("seed %d: solver %d oracle %d", seed, sol.Covered, want)
		}
		if !slices.Equal(contested(p, got), contested(p, sol)) {
			t.Fatalf("seed %d: contested differ", seed)
		}
	}
}

// TestMaxCoverHugeCapacity: a capacity may be anything the engine holds
// (only the server bounds it); maxCover keeps a volunteer no more places
// than the requests listing them, as the solver does, where two of
// MaxInt32 overflowed its sum and panicked, directly and through
// PlanDispatch.
func TestMaxCoverHugeCapacity(t *testing.T) {
	p := &AssignmentProblem{Urgency: []int8{2, 2}, Edges: [][]Edge{{{Volunteer: 0}}, {{Volunteer: 1}}}, Capacity: []int32{math.MaxInt32, math.MaxInt32}}
	if got := maxCover(p); got.Covered != 2 {
		t.Errorf("maxCover covers %d of 2", got.Covered)
	}
	big := func(v *pb.Volunteer) { v.Capacity = math.MaxInt32 }
	e := engineWith(t, vol("a", 0, 0, big), vol("b", 100, 0, big))
	plan, err := e.PlanDispatch([]DispatchRequest{{Request: req()}}, 2, now)
	if err != nil || len(plan.Offers) != 1 {
		t.Fatalf("PlanDispatch: %d offers, %v", len(plan.Offers), err)
	}
}
