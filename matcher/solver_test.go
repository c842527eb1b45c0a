package matcher

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// asgKey is the lexicographic objective of the solver, larger is better:
// covered, covered at urgency 4, 3, 2, 1, then minus the cost.
type asgKey [6]int64

func (k asgKey) less(o asgKey) bool {
	for i := range k {
		if k[i] != o[i] {
			return k[i] < o[i]
		}
	}
	return false
}

func asgKeyOf(a Assignment) asgKey {
	return asgKey{int64(a.Covered), int64(a.CoveredByUrgency[4]), int64(a.CoveredByUrgency[3]),
		int64(a.CoveredByUrgency[2]), int64(a.CoveredByUrgency[1]), -a.Cost}
}

// asgCheckFeasible fails t unless a is a feasible assignment of p whose
// reported totals match a recomputation.
func asgCheckFeasible(t *testing.T, p *AssignmentProblem, a Assignment) {
	t.Helper()
	if len(a.Volunteer) != len(p.Urgency) {
		t.Fatalf("len(Volunteer) = %d, want %d", len(a.Volunteer), len(p.Urgency))
	}
	load := make([]int32, len(p.Capacity))
	var want Assignment
	for r, v := range a.Volunteer {
		if v == -1 {
			continue
		}
		found := false
		for _, e := range p.Edges[r] {
			if e.Volunteer == v {
				found = true
				want.Cost += e.Cost
			}
		}
		if !found {
			t.Fatalf("request %d assigned to volunteer %d, not one of its candidates", r, v)
		}
		load[v]++
		want.Covered++
		want.CoveredByUrgency[p.Urgency[r]]++
	}
	for v, l := range load {
		if l > p.Capacity[v] {
			t.Fatalf("volunteer %d has %d requests, capacity %d", v, l, p.Capacity[v])
		}
	}
	if a.Covered != want.Covered || a.CoveredByUrgency != want.CoveredByUrgency || a.Cost != want.Cost {
		t.Fatalf("reported covered=%d byUrgency=%v cost=%d, recomputed covered=%d byUrgency=%v cost=%d",
			a.Covered, a.CoveredByUrgency, a.Cost, want.Covered, want.CoveredByUrgency, want.Cost)
	}
}

// asgBrute enumerates every feasible assignment of p. It returns the best
// one under the strict by-level order (asgKey), and checks on the way that
// the two other definitions of objective 2 (the number covered then the
// sum of urgency; the sum of urgency+1) select optima with the same key.
func asgBrute(t *testing.T, p *AssignmentProblem) (asgKey, []int32) {
	t.Helper()
	n := len(p.Urgency)
	cur := make([]int32, n)
	best := make([]int32, n)
	left := append([]int32(nil), p.Capacity...)
	var bestKey asgKey
	haveBest := false
	// Alternative definitions: (covered, Σ urgency, −cost) and
	// (Σ (urgency+1), −cost), with the asgKey of their first optimum.
	var best2, best3 [3]int64
	var key2At, key3At asgKey
	have2, have3 := false, false
	less3 := func(a, b [3]int64) bool {
		for i := range a {
			if a[i] != b[i] {
				return a[i] < b[i]
			}
		}
		return false
	}
	var by [5]int64
	var covered, cost int64
	var rec func(i int)
	rec = func(i int) {
		if i == n {
			k := asgKey{covered, by[4], by[3], by[2], by[1], -cost}
			if !haveBest || bestKey.less(k) {
				bestKey, haveBest = k, true
				copy(best, cur)
			}
			sumU := by[1] + 2*by[2] + 3*by[3] + 4*by[4]
			k2 := [3]int64{covered, sumU, -cost}
			if !have2 || less3(best2, k2) {
				best2, key2At, have2 = k2, k, true
			}
			k3 := [3]int64{covered + sumU, -cost, 0}
			if !have3 || less3(best3, k3) {
				best3, key3At, have3 = k3, k, true
			}
			return
		}
		cur[i] = -1
		rec(i + 1)
		u := p.Urgency[i]
		for _, e := range p.Edges[i] {
			if left[e.Volunteer] == 0 {
				continue
			}
			left[e.Volunteer]--
			cur[i] = e.Volunteer
			covered++
			by[u]++
			cost += e.Cost
			rec(i + 1)
			cost -= e.Cost
			by[u]--
			covered--
			left[e.Volunteer]++
		}
		cur[i] = -1
	}
	rec(0)
	if key2At != bestKey || key3At != bestKey {
		t.Fatalf("objective definitions disagree: by level %v, by urgency sum %v, by Σ(urgency+1) %v", bestKey, key2At, key3At)
	}
	return bestKey, best
}

// asgRandomProblem returns a random problem with up to maxR requests and
// maxV volunteers, sparse edges, capacities 0..2 and many cost ties.
func asgRandomProblem(rng *rand.Rand, maxR, maxV int) *AssignmentProblem {
	nr, nv := rng.IntN(maxR+1), rng.IntN(maxV+1)
	p := &AssignmentProblem{Urgency: make([]int8, nr), Edges: make([][]Edge, nr), Capacity: make([]int32, nv)}
	for v := range p.Capacity {
		p.Capacity[v] = int32(rng.IntN(3))
	}
	density := []float64{0.15, 0.3, 0.5, 0.7}[rng.IntN(4)]
	maxCost := []int64{0, 2, 10, 1000, MaxEdgeCost}[rng.IntN(5)]
	levels := 1 + rng.IntN(5) // how many distinct urgencies occur
	for r := range p.Urgency {
		p.Urgency[r] = int8(4 - rng.IntN(levels))
		for _, v := range rng.Perm(nv) {
			if rng.Float64() < density {
				p.Edges[r] = append(p.Edges[r], Edge{Volunteer: int32(v), Cost: rng.Int64N(maxCost + 1)})
			}
		}
	}
	return p
}

// asgCheckCertificate fails t unless the solver's final prices prove its
// flow optimal for the dummy-cost objective by LP duality: with β_v the
// price, α_r = cost + β_v for a covered request and D(r) for an uncovered
// one, α_r − β_w <= cost(r,w) on every edge to a volunteer with capacity,
// α_r <= D(r), and β_v > 0 only for a full volunteer.
func asgCheckCertificate(t *testing.T, s *asgSolver) {
	t.Helper()
	p := s.p
	var big int64 = 1
	for _, es := range p.Edges {
		var m int64
		for _, e := range es {
			m = max(m, e.Cost)
		}
		big += m
	}
	if big != s.big {
		t.Fatalf("B = %d, want %d", s.big, big)
	}
	load := make([]int32, len(p.Capacity))
	for _, v := range s.assign {
		if v >= 0 {
			load[v]++
		}
	}
	for v := range s.vol {
		b := s.vol[v].price
		if b < 0 || b > 5*big {
			t.Fatalf("price of volunteer %d is %d, outside [0, 5B]", v, b)
		}
		if b > 0 && load[v] != p.Capacity[v] {
			t.Fatalf("volunteer %d has price %d but load %d < capacity %d", v, b, load[v], p.Capacity[v])
		}
	}
	for r, v := range s.assign {
		d := int64(p.Urgency[r]+1) * big
		alpha := d
		if v >= 0 {
			alpha = int64(s.acost[r]) + s.vol[v].price
			if alpha > d {
				t.Fatalf("request %d: α = %d > D = %d", r, alpha, d)
			}
		}
		for _, e := range p.Edges[r] {
			if p.Capacity[e.Volunteer] == 0 {
				continue // β may be taken as large as needed
			}
			if alpha-s.vol[e.Volunteer].price > e.Cost {
				t.Fatalf("request %d edge to %d: reduced cost %d < 0", r, e.Volunteer, e.Cost+s.vol[e.Volunteer].price-alpha)
			}
		}
	}
}

func asgSolveChecked(t *testing.T, p *AssignmentProblem) Assignment {
	t.Helper()
	s, err := newAsgSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	s.solve()
	asgCheckCertificate(t, s)
	a := s.result()
	asgCheckFeasible(t, p, a)
	return a
}

func TestSolveAssignmentMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 3000
	beatGreedy := 0
	for i := range n {
		p := asgRandomProblem(rng, 7, 6)
		a, err := SolveAssignment(p)
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		asgCheckFeasible(t, p, a)
		asgSolveChecked(t, p)
		want, _ := asgBrute(t, p)
		if got := asgKeyOf(a); got != want {
			t.Fatalf("instance %d: solver (covered, u4, u3, u2, u1, -cost) = %v, brute force %v\nproblem %+v\nassignment %v",
				i, got, want, *p, a.Volunteer)
		}
		// The row order changes the path, not the optimum: adding the
		// requests in a random order must reach the same objective.
		s, _ := newAsgSolver(p)
		order := make([]int32, len(p.Urgency))
		for k, r := range rng.Perm(len(order)) {
			order[k] = int32(r)
		}
		s.solveInOrder(order)
		asgCheckCertificate(t, s)
		if got := asgKeyOf(s.result()); got != want {
			t.Fatalf("instance %d, rows in order %v: solver %v, brute force %v\nproblem %+v", i, order, got, want, *p)
		}
		g := GreedyNearestFirst(p)
		asgCheckFeasible(t, p, g)
		if gk := asgKeyOf(g); want.less(gk) {
			t.Fatalf("instance %d: greedy %v beats the optimum %v", i, gk, want)
		} else if gk != want {
			beatGreedy++
		}
	}
	t.Logf("%d instances equal to brute force; strictly better than greedy on %d", n, beatGreedy)
	if beatGreedy == 0 {
		t.Fatal("the random instances never separate the solver from greedy: they test too little")
	}
}

func TestSolveAssignmentBeatsGreedyOnCoverage(t *testing.T) {
	// A's nearest volunteer, 0, is the only one B can use.
	p := &AssignmentProblem{
		Urgency:  []int8{2, 2},
		Edges:    [][]Edge{{{0, 100}, {1, 900}}, {{0, 300}}},
		Capacity: []int32{1, 1},
	}
	g := GreedyNearestFirst(p)
	if g.Covered != 1 || g.Volunteer[0] != 0 || g.Volunteer[1] != -1 {
		t.Fatalf("greedy = %+v, want A on 0 and B uncovered", g)
	}
	a := asgSolveChecked(t, p)
	want, _ := asgBrute(t, p)
	if a.Covered != 2 || !reflect.DeepEqual(a.Volunteer, []int32{1, 0}) || a.Cost != 1200 || asgKeyOf(a) != want {
		t.Fatalf("solver = %+v, want A on 1, B on 0, cost 1200 (brute force %v)", a, want)
	}

	// The same trap for an urgent request: greedy serves the urgent A
	// first, then leaves the equally urgent B without anyone.
	p = &AssignmentProblem{
		Urgency:  []int8{4, 4, 0},
		Edges:    [][]Edge{{{0, 10}, {1, 20}}, {{0, 15}}, {{1, 5}}},
		Capacity: []int32{1, 1},
	}
	g = GreedyNearestFirst(p)
	a = asgSolveChecked(t, p)
	want, _ = asgBrute(t, p)
	if g.CoveredByUrgency[4] != 1 || a.CoveredByUrgency[4] != 2 || asgKeyOf(a) != want {
		t.Fatalf("greedy %+v, solver %+v, brute force %v: want both urgent requests covered", g, a, want)
	}
}

func TestSolveAssignmentBeatsGreedyOnCost(t *testing.T) {
	// Both requests are covered either way, but A taking its nearest makes
	// B travel far.
	p := &AssignmentProblem{
		Urgency:  []int8{3, 3},
		Edges:    [][]Edge{{{0, 1000}, {1, 1200}}, {{0, 1100}, {1, 9000}}},
		Capacity: []int32{1, 1},
	}
	g := GreedyNearestFirst(p)
	if g.Covered != 2 || g.Cost != 10000 {
		t.Fatalf("greedy = %+v, want both covered at cost 10000", g)
	}
	a := asgSolveChecked(t, p)
	want, _ := asgBrute(t, p)
	if a.Covered != 2 || a.Cost != 2300 || !reflect.DeepEqual(a.Volunteer, []int32{1, 0}) || asgKeyOf(a) != want {
		t.Fatalf("solver = %+v, want A on 1, B on 0 at cost 2300 (brute force %v)", a, want)
	}
}

func TestSolveAssignmentUrgencyBeforeCost(t *testing.T) {
	// One volunteer, three requests: the urgent one is covered even though
	// it is the most expensive; then the cheaper of the two equal ones.
	p := &AssignmentProblem{
		Urgency:  []int8{1, 3, 1},
		Edges:    [][]Edge{{{0, 50}}, {{0, MaxEdgeCost}}, {{0, 40}}},
		Capacity: []int32{2},
	}
	a := asgSolveChecked(t, p)
	if !reflect.DeepEqual(a.Volunteer, []int32{-1, 0, 0}) || a.Cost != MaxEdgeCost+40 {
		t.Fatalf("solver = %+v, want requests 1 and 2 on volunteer 0", a)
	}
	// Cardinality and urgency never conflict (the covered sets form a
	// matroid): the urgent request that could block both others is still
	// covered, next to one of them.
	p = &AssignmentProblem{
		Urgency:  []int8{4, 0, 0},
		Edges:    [][]Edge{{{0, 1}, {1, 1}}, {{0, 1}}, {{1, 1}}},
		Capacity: []int32{1, 1},
	}
	a = asgSolveChecked(t, p)
	if want, _ := asgBrute(t, p); a.Covered != 2 || a.CoveredByUrgency[4] != 1 || asgKeyOf(a) != want {
		t.Fatalf("solver = %+v (brute force %v), want the urgent request and one other", a, want)
	}
}

func TestSolveAssignmentCapacity(t *testing.T) {
	// Six requests can only use volunteer 0 (capacity 3); volunteer 1 has
	// capacity 0 and is everyone's cheapest candidate.
	p := &AssignmentProblem{Capacity: []int32{3, 0}}
	for r, u := range []int8{0, 4, 2, 4, 1, 2} {
		p.Urgency = append(p.Urgency, u)
		p.Edges = append(p.Edges, []Edge{{1, 0}, {0, int64(100 - r)}})
	}
	for _, a := range []Assignment{asgSolveChecked(t, p), GreedyNearestFirst(p)} {
		var load [2]int
		for _, v := range a.Volunteer {
			if v >= 0 {
				load[v]++
			}
		}
		if load[0] != 3 || load[1] != 0 {
			t.Fatalf("loads %v, want [3 0] (%+v)", load, a)
		}
	}
	a := asgSolveChecked(t, p)
	// The two urgency-4 requests, then the cheaper urgency-2 one (5).
	if !reflect.DeepEqual(a.Volunteer, []int32{-1, 0, -1, 0, -1, 0}) {
		t.Fatalf("assignment %v, want requests 1, 3, 5", a.Volunteer)
	}
	if want, _ := asgBrute(t, p); asgKeyOf(a) != want {
		t.Fatalf("solver %v, brute force %v", asgKeyOf(a), want)
	}

	// Capacity far above the number of requests is fine.
	p = &AssignmentProblem{Urgency: []int8{1, 1}, Edges: [][]Edge{{{0, 3}}, {{0, 4}}}, Capacity: []int32{1 << 30}}
	if a := asgSolveChecked(t, p); a.Covered != 2 || a.Cost != 7 {
		t.Fatalf("solver = %+v, want both on volunteer 0", a)
	}
}

func TestSolveAssignmentEmptyAndDegenerate(t *testing.T) {
	for name, p := range map[string]*AssignmentProblem{
		"nothing":        {},
		"no volunteers":  {Urgency: []int8{3, 0}, Edges: [][]Edge{nil, {}}},
		"no requests":    {Capacity: []int32{1, 2}},
		"no edges":       {Urgency: []int8{4}, Edges: [][]Edge{nil}, Capacity: []int32{5}},
		"zero capacity":  {Urgency: []int8{4}, Edges: [][]Edge{{{0, 0}}}, Capacity: []int32{0}},
		"all costs zero": {Urgency: []int8{0, 0, 0}, Edges: [][]Edge{{{0, 0}, {1, 0}}, {{0, 0}}, {{1, 0}}}, Capacity: []int32{1, 1}},
	} {
		a := asgSolveChecked(t, p)
		want, _ := asgBrute(t, p)
		if asgKeyOf(a) != want {
			t.Errorf("%s: solver %v, brute force %v", name, asgKeyOf(a), want)
		}
	}
}

func TestSolveAssignmentRejectsBadInput(t *testing.T) {
	ok := func() *AssignmentProblem {
		return &AssignmentProblem{
			Urgency:  []int8{1, 2},
			Edges:    [][]Edge{{{0, 5}, {1, 7}}, {{1, 0}}},
			Capacity: []int32{1, 1},
		}
	}
	if _, err := SolveAssignment(ok()); err != nil {
		t.Fatalf("valid problem rejected: %v", err)
	}
	cases := []struct {
		name, want string
		edit       func(p *AssignmentProblem)
	}{
		{"nil", "nil", nil},
		{"fewer edge lists", "edge lists", func(p *AssignmentProblem) { p.Edges = p.Edges[:1] }},
		{"more edge lists", "edge lists", func(p *AssignmentProblem) { p.Edges = append(p.Edges, nil) }},
		{"negative cost", "cost -1", func(p *AssignmentProblem) { p.Edges[1][0].Cost = -1 }},
		{"cost too large", "cost 2147483648", func(p *AssignmentProblem) { p.Edges[0][1].Cost = MaxEdgeCost + 1 }},
		{"volunteer too large", "out of range", func(p *AssignmentProblem) { p.Edges[0][0].Volunteer = 2 }},
		{"negative volunteer", "out of range", func(p *AssignmentProblem) { p.Edges[1][0].Volunteer = -1 }},
		{"duplicate edge", "twice", func(p *AssignmentProblem) { p.Edges[0][1].Volunteer = 0 }},
		{"urgency 5", "urgency 5", func(p *AssignmentProblem) { p.Urgency[0] = 5 }},
		{"urgency -1", "urgency -1", func(p *AssignmentProblem) { p.Urgency[1] = -1 }},
		{"negative capacity", "negative capacity", func(p *AssignmentProblem) { p.Capacity[1] = -1 }},
		{"edges without volunteers", "out of range", func(p *AssignmentProblem) { p.Capacity = nil }},
		{"too many requests", "more than 1000000", func(p *AssignmentProblem) {
			p.Urgency = make([]int8, 1_000_001)
			p.Edges = make([][]Edge, 1_000_001)
		}},
	}
	for _, c := range cases {
		var p *AssignmentProblem
		if c.edit != nil {
			p = ok()
			c.edit(p)
		}
		a, err := SolveAssignment(p)
		if err == nil {
			t.Errorf("%s: no error (assignment %+v)", c.name, a)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
		if a.Volunteer != nil || a.Covered != 0 {
			t.Errorf("%s: an assignment came with the error: %+v", c.name, a)
		}
		// The baseline does not validate but must not panic.
		GreedyNearestFirst(p)
	}
}

func TestSolveAssignmentDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		p := asgRandomProblem(rng, 300, 120)
		a, err := SolveAssignment(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := SolveAssignment(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("two solves differ:\n%+v\n%+v", a, b)
		}
	}
	// And a fixed instance gives a fixed answer, ties included: every cost
	// is equal, so only the tie-breaking decides.
	p := &AssignmentProblem{
		Urgency:  []int8{2, 2, 2, 2},
		Edges:    [][]Edge{{{0, 1}, {1, 1}}, {{0, 1}, {1, 1}}, {{0, 1}, {1, 1}}, {{1, 1}, {0, 1}}},
		Capacity: []int32{1, 2},
	}
	first := asgSolveChecked(t, p)
	for range 10 {
		if a := asgSolveChecked(t, p); !reflect.DeepEqual(a, first) {
			t.Fatalf("solves differ: %v, %v", first.Volunteer, a.Volunteer)
		}
	}
}

// asgRanks computes, independently of the solver, the best covered count
// per urgency: the matroid greedy (Kuhn's augmenting paths with volunteer
// capacities, urgent requests first) reaches rank(P_k) for every level.
func asgRanks(p *AssignmentProblem) [5]int {
	nv := len(p.Capacity)
	holders := make([][]int32, nv)
	assigned := make([]int32, len(p.Urgency))
	for i := range assigned {
		assigned[i] = -1
	}
	var seen []bool
	var try func(r int32) bool
	try = func(r int32) bool {
		for _, e := range p.Edges[r] {
			v := e.Volunteer
			if seen[v] || p.Capacity[v] == 0 {
				continue
			}
			seen[v] = true
			if int32(len(holders[v])) < p.Capacity[v] {
				holders[v] = append(holders[v], r)
				assigned[r] = v
				return true
			}
			for i, other := range holders[v] {
				if try(other) {
					holders[v][i] = r
					assigned[r] = v
					return true
				}
			}
		}
		return false
	}
	var out [5]int
	for u := 4; u >= 0; u-- {
		for r := range p.Urgency {
			if int(p.Urgency[r]) != u {
				continue
			}
			seen = make([]bool, nv)
			if try(int32(r)) {
				out[u]++
			}
		}
	}
	return out
}

// asgReference is an independent, slow exact solver for the same
// objective: successive shortest paths found by Bellman-Ford (no
// potentials, no early exit) with costs compared as pairs (uncovered
// weight Σ(urgency+1), edge cost), so without the big-B encoding. It
// returns the covered weight Σ(urgency+1) and the cost of its optimum.
func asgReference(p *AssignmentProblem) (weight, cost int64) {
	type pair struct{ w, c int64 }
	less := func(a, b pair) bool { return a.w < b.w || (a.w == b.w && a.c < b.c) }
	add := func(a, b pair) pair { return pair{a.w + b.w, a.c + b.c} }
	nr, nv := len(p.Urgency), len(p.Capacity)
	assign := make([]int32, nr)
	acost := make([]int64, nr)
	load := make([]int32, nv)
	for i := range assign {
		assign[i] = -1
	}
	const unreached = math.MaxInt64
	for s := range nr {
		// Nodes: requests 0..nr-1, volunteers nr..nr+nv-1.
		dist := make([]pair, nr+nv)
		from := make([]int32, nr+nv) // predecessor node
		fromCost := make([]int64, nr+nv)
		for i := range dist {
			dist[i] = pair{unreached, 0}
		}
		dist[s] = pair{}
		for changed := true; changed; {
			changed = false
			for r := range nr {
				if dist[r].w == unreached {
					continue
				}
				for _, e := range p.Edges[r] {
					w := nr + int(e.Volunteer)
					if e.Volunteer == assign[r] || p.Capacity[e.Volunteer] == 0 {
						continue
					}
					if nd := add(dist[r], pair{0, e.Cost}); dist[w].w == unreached || less(nd, dist[w]) {
						dist[w], from[w], fromCost[w], changed = nd, int32(r), e.Cost, true
					}
				}
			}
			for r := range nr {
				v := assign[r]
				if v < 0 || dist[nr+int(v)].w == unreached {
					continue
				}
				if nd := add(dist[nr+int(v)], pair{0, -acost[r]}); dist[r].w == unreached || less(nd, dist[r]) {
					dist[r], from[r], changed = nd, int32(nr)+v, true
				}
			}
		}
		// The best end: a volunteer with room, or a reached request's dummy.
		best, bestAt := pair{int64(p.Urgency[s]) + 1, 0}, s
		for v := range nv {
			if d := dist[nr+v]; d.w != unreached && load[v] < p.Capacity[v] && less(d, best) {
				best, bestAt = d, nr+v
			}
		}
		for r := range nr {
			if d := dist[r]; d.w != unreached && assign[r] >= 0 {
				if nd := add(d, pair{int64(p.Urgency[r]) + 1, 0}); less(nd, best) {
					best, bestAt = nd, r
				}
			}
		}
		// Flip the path back to s.
		x := bestAt
		if x >= nr {
			load[x-nr]++
		} else {
			assign[x], acost[x] = -1, 0
		}
		for x != s {
			if x >= nr { // volunteer x-nr now serves from[x]
				r := int(from[x]) // its old volunteer, if any, is visited next
				assign[r], acost[r] = int32(x-nr), fromCost[x]
				x = r
			} else { // request x was reached from the volunteer it left
				x = int(from[x])
			}
		}
	}
	for r, v := range assign {
		if v >= 0 {
			weight += int64(p.Urgency[r]) + 1
			cost += acost[r]
		}
	}
	return weight, cost
}

func TestSolveAssignmentLargerRandom(t *testing.T) {
	// Too large for brute force: the coverage per level is checked against
	// an independent matroid greedy, the optimality by the LP certificate
	// and, on the smaller ones, against the slow reference solver.
	rng := rand.New(rand.NewPCG(3, 4))
	n := 60
	if testing.Short() {
		n = 10
	}
	for i := range n {
		nr, nv := 50+rng.IntN(400), 20+rng.IntN(300)
		p := &AssignmentProblem{Urgency: make([]int8, nr), Edges: make([][]Edge, nr), Capacity: make([]int32, nv)}
		for v := range p.Capacity {
			p.Capacity[v] = int32(rng.IntN(4))
		}
		deg := 1 + rng.IntN(8)
		for r := range p.Urgency {
			p.Urgency[r] = int8(rng.IntN(5))
			for _, v := range rng.Perm(nv)[:min(deg, nv)] {
				p.Edges[r] = append(p.Edges[r], Edge{Volunteer: int32(v), Cost: rng.Int64N(2000)})
			}
		}
		a := asgSolveChecked(t, p)
		if nr <= 200 { // the reference is slow
			w, c := asgReference(p)
			var got int64
			for u, n := range a.CoveredByUrgency {
				got += int64(u+1) * int64(n)
			}
			if got != w || a.Cost != c {
				t.Fatalf("instance %d: covered weight %d cost %d, reference solver %d and %d", i, got, a.Cost, w, c)
			}
		}
		if want := asgRanks(p); a.CoveredByUrgency != want {
			t.Fatalf("instance %d: covered by urgency %v, matroid greedy %v", i, a.CoveredByUrgency, want)
		}
		if g := GreedyNearestFirst(p); asgKeyOf(a).less(asgKeyOf(g)) {
			t.Fatalf("instance %d: greedy %v beats solver %v", i, asgKeyOf(g), asgKeyOf(a))
		}
	}
}

func TestSolveAssignmentExtremeValues(t *testing.T) {
	if testing.Short() {
		t.Skip("a million requests")
	}
	// The largest accepted size with the largest costs: B is about 10^12
	// and the dummies up to 5·B; saturated volunteers get prices near 5·B.
	const nr = 1_000_000
	const nv = 1000
	p := &AssignmentProblem{Urgency: make([]int8, nr), Edges: make([][]Edge, nr), Capacity: make([]int32, nv)}
	for v := range p.Capacity {
		p.Capacity[v] = 1
	}
	for r := range p.Urgency {
		p.Urgency[r] = int8(r % 5)
		v := int32(r % nv)
		p.Edges[r] = []Edge{{v, MaxEdgeCost}, {(v + 1) % nv, MaxEdgeCost - int64(r%7)}}
	}
	s, err := newAsgSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	s.solve()
	asgCheckCertificate(t, s)
	var top int64
	for _, v := range s.vol {
		top = max(top, v.price)
	}
	if s.big < 999_990_000_000 || top <= 4*s.big {
		t.Fatalf("B = %d, highest price %d: the extreme values were not reached", s.big, top)
	}
	t.Logf("B = %d, highest price %d (5·B = %d, int64 max %d)", s.big, top, 5*s.big, int64(math.MaxInt64))
	a := s.result()
	asgCheckFeasible(t, p, a)
	// Urgency-4 requests (r ≡ 4 mod 5) reach the volunteers ≡ 4 and 0
	// mod 5, urgency 3 those ≡ 3 and 4, and so on down.
	if want := [5]int{0, 200, 200, 200, 400}; a.Covered != nv || a.CoveredByUrgency != want {
		t.Fatalf("covered %d by urgency %v, want %d by %v", a.Covered, a.CoveredByUrgency, nv, want)
	}
	if a.Cost > nv*MaxEdgeCost || a.Cost < nv*(MaxEdgeCost-6) {
		t.Fatalf("cost %d out of range", a.Cost)
	}
}
