package matcher

// Exact assignment solver for automatic dispatch.
//
// # Problem
//
// There are R requests and V volunteers. Request r has an urgency
// Urgency[r] in 0..4 (4 is the most urgent) and a sparse list of candidate
// edges (volunteer, cost); volunteer v may take Capacity[v] more requests.
// An assignment gives every request at most one of its candidates, and no
// volunteer more requests than its capacity. Let S be the set of covered
// requests and n_k(S) the number of them at urgency k. SolveAssignment
// returns an assignment that is optimal for the lexicographic order
//
//  1. maximise |S|;
//  2. then maximise n_4(S), then n_3(S), then n_2(S), then n_1(S)
//     (strict priority by level: one more covered urgency-4 request beats
//     any number of lower ones, at equal |S|);
//  3. then minimise the total cost of the chosen edges.
//
// # Why step 2 costs nothing: the covered sets form a matroid
//
// Split volunteer v into Capacity[v] unit slots. The sets of requests that
// can be covered together are then the sets matchable into the slots: the
// independent sets of a transversal matroid (Edmonds and Fulkerson, 1965).
// Write P_k for the requests of urgency >= k and rank(X) for the size of a
// largest coverable subset of X. For any coverable S,
//
//	|S ∩ P_k| <= rank(P_k)  for k = 0..4,
//
// and the matroid greedy algorithm (take requests by urgency, highest first,
// keeping each one that can be added) reaches all five bounds at once:
// after it has looked at P_k its set is a maximal independent subset of
// P_k, and in a matroid every maximal independent subset of P_k has
// rank(P_k) elements. So the best vector of step 1-2 is
// (rank P_0, rank P_4, rank P_3 - rank P_4, ...), and S reaches it exactly
// when |S ∩ P_k| = rank(P_k) for every k. Since
//
//	Σ_{r∈S} (Urgency[r]+1) = Σ_{k=0..4} |S ∩ P_k|,
//
// a sum of five terms each at most rank(P_k) that the greedy set makes all
// equal to rank(P_k) at once, the coverable sets of largest weight
// w(r) = Urgency[r]+1 are exactly the same sets. Steps 1-2 are
// therefore the same as "maximise the number covered, then the sum of
// Urgency over them", and the same as "maximise Σ (Urgency+1)": the three
// definitions pick the same optimal covered sets and hence, after step 3,
// optimal assignments of the same cost. The tests check the strict
// by-level definition against exhaustive search.
//
// # Reduction to a min-cost flow with private dummies
//
// Let B = 1 + Σ_r (largest edge cost of r): no assignment costs B or more.
// Give each request r a private "uncovered" option of cost
// D(r) = (Urgency[r]+1)·B and minimise, over complete assignments (every
// request takes an edge or its dummy),
//
//	Σ_{r uncovered} D(r) + Σ_{r covered} cost(r) = B·(W − w(S)) + cost(S),
//
// with W = Σ_r w(r). Between two assignments the first term differs by a
// multiple of B whenever w(S) differs, and the second by less than B, so a
// minimum maximises w(S) first (steps 1-2, by the theorem above) and then
// minimises the cost (step 3). This is a transportation problem: requests
// are sources of one unit, volunteers are sinks of Capacity[v] units, and
// dummies are sinks of one unit reachable from their own request only.
//
// # Algorithm: successive shortest paths, row by row
//
// Requests are added one at a time (urgency descending, then index; the
// order changes the running time, not the result). After each addition
// the flow is a min-cost flow for the requests added so far, and a
// potential certifies it: a price β_v >= 0 per volunteer and, implicitly,
// α_r = cost(r, its volunteer) + β_v for a covered request, α_r = D(r) for
// an uncovered one, such that (LP duality for the transportation problem)
//
//	α_r − β_w <= cost(r, w) for every edge,   α_r <= D(r),
//	equality on every chosen edge,            β_v > 0 only if v is full.
//
// Adding request s (α_s = 0) is one Dijkstra search from s over the
// residual graph with reduced costs, which are all >= 0:
// s or a reached covered request r goes to a candidate w at
// cost(r,w) + β_w − α_r; a full volunteer v leads on to each request r it
// serves (moving r off v, raw cost −cost(r,v)) at reduced cost 0, so only
// volunteers enter the heap and the requests of a volunteer are expanded
// when it is popped, as in Jonker-Volgenant; reaching request r also
// offers "r gives its place to the one behind it and becomes uncovered" at
// D(r) − α_r. The search stops
// at the first volunteer with spare capacity it pops, or at the cheapest
// dummy once no volunteer in the heap is nearer (early exit). With L the
// length of the path taken, every volunteer v settled before the stop has
// β_v += L − d(v); the path is then flipped. This is the standard
// potential update for Dijkstra stopped early: reduced costs stay >= 0,
// the path's edges become tight, volunteers with spare capacity are never
// settled so their price stays 0 (complementary slackness), and an
// uncovered request can never be reached again (the only way into a
// request is from a volunteer serving it). By the
// successive-shortest-path theorem the flow after each step is optimal
// for the requests added so far, so after the last one it is the optimum
// defined above. Ties (equal keys in the heap) break on volunteer index
// and relaxations keep the first of equal distances, so the result is a
// function of the input alone; there is no randomness, map iteration or
// concurrency.
//
// A free volunteer, when reachable, is always preferred to a dummy. The
// reduced length of a path from s equals its raw length (α_s = 0 and a
// free volunteer has β = 0): ΔC, the change of total edge cost, for a path
// to a free volunteer; D(r') + ΔC' >= B + ΔC' for one ending in a dummy;
// and ΔC − ΔC' is a difference of two assignment costs, hence < B. So the
// number covered never drops, and a request is left uncovered only when
// no augmenting path exists.
//
// # Complexity
//
// One step costs O(E_s log E_s) time, where E_s is the number of edges of
// the requests the search reaches; over all steps that is O(R·E·log E) in
// the worst case for E edges in all. Memory is O(R + V) plus the heap
// (at most E entries). With candidates from a spatial search and spare
// capacity around, most steps pop a free volunteer among the request's
// own candidates, and a step is then a few dozen heap operations. Where
// capacity runs out, the steps of the urgency level at which it runs out
// search whole saturated regions, for the long augmenting path to the last
// free volunteers or for a cheaper same-urgency request to displace; that
// is where the time goes under real scarcity. Lower levels are cheap
// again: the saturated volunteers' prices exceed their dummies.
//
// # No overflow in int64
//
// Inputs are limited to R <= 1,000,000 requests and costs <= MaxEdgeCost =
// 2^31 − 1 (SolveAssignment rejects more). Then B <= R·MaxEdgeCost + 1 <
// 2.2·10^15 and D(r) <= 5B < 1.1·10^16. Every price satisfies 0 <= β_v <=
// 5B (a full volunteer serves some r with cost + β_v = α_r <= D(r)),
// every α_r of a covered request lies in [0, 5B], and Dijkstra only
// settles keys below L <= D(s) <= 5B, so any key computed, and any key
// plus a dummy, is below 16B < 3.5·10^16. The total edge cost is below
// 2.2·10^15. All are far below 2^63 − 1 ≈ 9.22·10^18; no sum of dummies
// over requests is ever formed. A single edge cost fits in int32 and is
// stored so; slot offsets are int32 because the number of edges is limited
// to 2^31 − 1.

import (
	"fmt"
	"math"
)

// MaxEdgeCost is the largest cost SolveAssignment accepts on an edge: all
// an int32 holds, so that no score the matching rules allow (a distance,
// plus up to 100 km for each job in the fairness window) is capped to
// equal another, which would lose the cheapest plan.
const MaxEdgeCost = math.MaxInt32

// asgMaxRequests is the largest number of requests SolveAssignment
// accepts; with MaxEdgeCost it keeps every intermediate value in int64.
const asgMaxRequests = 1_000_000

// Edge is one candidate of a request: a volunteer index and the cost of
// sending that volunteer (for instance metres, or a ranking score).
type Edge struct {
	Volunteer int32
	Cost      int64
}

// AssignmentProblem is the input of SolveAssignment: requests 0..R-1 with
// R = len(Urgency) = len(Edges), volunteers 0..V-1 with V = len(Capacity).
type AssignmentProblem struct {
	Urgency  []int8   // per request, 0..4 (4 is the most urgent)
	Edges    [][]Edge // per request; a volunteer appears at most once per request
	Capacity []int32  // per volunteer: how many more requests it may take, >= 0
}

// Assignment is a solution: for each request the chosen volunteer, or -1.
type Assignment struct {
	Volunteer        []int32 // per request: the chosen volunteer, or -1 if uncovered
	Covered          int     // requests with a volunteer
	CoveredByUrgency [5]int  // covered requests per urgency level
	Cost             int64   // total cost of the chosen edges
}

// SolveAssignment returns an optimal assignment of p: it covers as many
// requests as possible; among those, as many urgency-4 requests as
// possible, then urgency-3, -2, -1 (equivalently, by the matroid argument
// in this file's comment: the largest sum of Urgency over covered
// requests); and among those, the least total cost. The result is
// deterministic: among equally good assignments the same one is returned
// for the same input. It returns an error, and no assignment, if p is nil or
// malformed: lengths differ, more than 1,000,000 requests or 2^31 − 1
// edges, an urgency outside 0..4, a negative capacity, a volunteer index
// out of range, a cost outside 0..MaxEdgeCost, or a volunteer listed
// twice for a request. Edges to volunteers of capacity 0 are allowed and
// never used.
func SolveAssignment(p *AssignmentProblem) (Assignment, error) {
	s, err := newAsgSolver(p)
	if err != nil {
		return Assignment{}, err
	}
	s.solve()
	return s.result(), nil
}

// validate checks p and fills deg with each volunteer's in-degree (the
// number of requests listing it). deg must be zeroed and stamp (scratch
// for finding duplicate edges) any contents; both of length V.
func (p *AssignmentProblem) validate(deg []int32, stamp []int32) error {
	r := len(p.Urgency)
	if len(p.Edges) != r {
		return fmt.Errorf("matcher: assignment problem has %d urgencies but %d edge lists", r, len(p.Edges))
	}
	if r > asgMaxRequests {
		return fmt.Errorf("matcher: assignment problem has %d requests, more than %d", r, asgMaxRequests)
	}
	nv := len(p.Capacity)
	for v, c := range p.Capacity {
		if c < 0 {
			return fmt.Errorf("matcher: volunteer %d has negative capacity %d", v, c)
		}
	}
	for i := range stamp {
		stamp[i] = -1
	}
	edges := 0
	for _, es := range p.Edges {
		edges += len(es)
	}
	if edges > math.MaxInt32 {
		return fmt.Errorf("matcher: assignment problem has %d edges, more than %d", edges, math.MaxInt32)
	}
	for i, u := range p.Urgency {
		if u < 0 || u > 4 {
			return fmt.Errorf("matcher: request %d has urgency %d, not in 0..4", i, u)
		}
		for j, e := range p.Edges[i] {
			if e.Volunteer < 0 || int(e.Volunteer) >= nv {
				return fmt.Errorf("matcher: request %d edge %d: volunteer %d out of range [0,%d)", i, j, e.Volunteer, nv)
			}
			if e.Cost < 0 || e.Cost > MaxEdgeCost {
				return fmt.Errorf("matcher: request %d edge %d: cost %d not in 0..%d", i, j, e.Cost, MaxEdgeCost)
			}
			if stamp[e.Volunteer] == int32(i) {
				return fmt.Errorf("matcher: request %d lists volunteer %d twice", i, e.Volunteer)
			}
			stamp[e.Volunteer] = int32(i)
			deg[e.Volunteer]++
		}
	}
	return nil
}

// asgSolver holds the state of one SolveAssignment call.
type asgSolver struct {
	p   *AssignmentProblem
	big int64 // B: more than the cost of any assignment

	// Per request.
	assign []int32 // volunteer, or -1
	acost  []int32 // cost of the chosen edge (0 if uncovered)
	slotOf []int32 // index into slots while covered

	// Per volunteer. Volunteer v owns slots[start[v]:start[v+1]], of which
	// the first vol[v].load hold the requests it serves.
	vol   []asgVol
	start []int32
	slots []int32

	// Dijkstra scratch, reused across rows.
	heap    asgHeap
	touched []int32
	settled []int32
}

// asgVol is the per-volunteer state, packed so that a relaxation touches
// one cache line.
type asgVol struct {
	dist     int64 // Dijkstra key: asgInf when untouched, asgNever if cap is 0
	price    int64 // β_v >= 0
	pred     int32 // request whose edge gave dist
	predCost int32 // cost of that edge
	load     int32 // requests served
	cap      int32 // min(Capacity[v], in-degree): more slots could never be used
}

const (
	asgInf   = int64(math.MaxInt64)
	asgNever = int64(math.MinInt64) // no key is below it: never relaxed
)

func newAsgSolver(p *AssignmentProblem) (*asgSolver, error) {
	if p == nil {
		return nil, fmt.Errorf("matcher: nil assignment problem")
	}
	nv := len(p.Capacity)
	if nv > math.MaxInt32 {
		return nil, fmt.Errorf("matcher: assignment problem has %d volunteers, more than %d", nv, math.MaxInt32)
	}
	deg := make([]int32, nv)
	start := make([]int32, nv+1)
	if err := p.validate(deg, start[:nv]); err != nil {
		return nil, err
	}
	nr := len(p.Urgency)
	s := &asgSolver{
		p:      p,
		assign: make([]int32, nr),
		acost:  make([]int32, nr),
		slotOf: make([]int32, nr),
		vol:    make([]asgVol, nv),
		start:  start,
	}
	var total int32 // <= the number of edges, checked by validate
	for v, c := range p.Capacity {
		start[v] = total
		k := min(c, deg[v])
		total += k
		s.vol[v] = asgVol{dist: asgInf, cap: k}
		if k == 0 {
			s.vol[v].dist = asgNever
		}
	}
	start[nv] = total
	s.slots = make([]int32, total)
	for i := range s.assign {
		s.assign[i] = -1
	}
	var sum int64
	for _, es := range p.Edges {
		var m int64
		for _, e := range es {
			m = max(m, e.Cost)
		}
		sum += m
	}
	s.big = sum + 1
	return s, nil
}

// dummy is D(r) = (Urgency[r]+1)·B, the cost of leaving r uncovered.
func (s *asgSolver) dummy(r int32) int64 {
	return int64(s.p.Urgency[r]+1) * s.big
}

// solve adds the requests by urgency, highest first, then by index.
func (s *asgSolver) solve() {
	s.solveInOrder(asgOrder(s.p.Urgency))
}

// solveInOrder adds the requests in the given order. Any order gives an
// optimal assignment (tests use others); urgency first is fastest, as a
// request then never displaces a less urgent one.
func (s *asgSolver) solveInOrder(order []int32) {
	for _, r := range order {
		s.add(r)
	}
}

// add runs one Dijkstra search from the new request src and augments
// along the shortest path found (see the file comment).
func (s *asgSolver) add(src int32) {
	bestD, bestR := s.dummy(src), src // own dummy: D(src) − α_src, α_src = 0
	s.relax(src, 0)
	endVol := int32(-1)
	var length int64
	for s.heap.len() > 0 {
		it := s.heap.pop()
		v := it.v
		vv := &s.vol[v]
		if it.d != vv.dist {
			continue // stale entry
		}
		if bestD <= it.d {
			break
		}
		if vv.load < vv.cap {
			endVol, length = v, it.d
			break
		}
		s.settled = append(s.settled, v)
		for _, r := range s.slots[s.start[v]:s.start[v+1]] {
			alpha := int64(s.acost[r]) + vv.price
			if d := it.d + s.dummy(r) - alpha; d < bestD {
				bestD, bestR = d, r
			}
			// Edges of r cost their reduced cost from it.d − alpha. The
			// edge back to v is not improved: its key is it.d already.
			s.relax(r, it.d-alpha)
		}
	}
	if endVol < 0 {
		length = bestD
	}
	for _, v := range s.settled {
		s.vol[v].price += length - s.vol[v].dist
	}
	s.augment(src, endVol, bestR)
	for _, v := range s.touched {
		s.vol[v].dist = asgInf
	}
	s.touched = s.touched[:0]
	s.settled = s.settled[:0]
	s.heap.reset()
}

// relax scans the edges of request r; base is the key of r minus its
// potential α_r, so that an edge (r, w) gives w the key
// base + cost + β_w.
func (s *asgSolver) relax(r int32, base int64) {
	for _, e := range s.p.Edges[r] {
		w := &s.vol[e.Volunteer]
		nd := base + e.Cost + w.price
		if nd < w.dist {
			if w.dist == asgInf {
				s.touched = append(s.touched, e.Volunteer)
			}
			w.dist = nd
			w.pred = r
			w.predCost = int32(e.Cost)
			s.heap.push(asgItem{d: nd, v: e.Volunteer})
		}
	}
}

// augment flips the path found by add: it ends at volunteer endVol if
// endVol >= 0, otherwise at the dummy of request endReq.
func (s *asgSolver) augment(src, endVol, endReq int32) {
	var x int32        // the request that has just moved
	var freed int32    // the volunteer x left (-1 if x was uncovered)
	var freedPos int32 // the slot x left
	if endVol >= 0 {
		e := &s.vol[endVol]
		x = e.pred
		pos := s.start[endVol] + e.load
		e.load++
		freed, freedPos = s.assign[x], s.slotOf[x]
		s.assign[x], s.acost[x], s.slotOf[x] = endVol, e.predCost, pos
		s.slots[pos] = x
	} else {
		x = endReq
		freed, freedPos = s.assign[x], s.slotOf[x]
		s.assign[x], s.acost[x] = -1, 0
	}
	for x != src {
		// x was reached through freed, which now serves the request
		// that reached freed instead of x.
		v := &s.vol[freed]
		y := v.pred
		s.assign[y], freed = freed, s.assign[y]
		s.slotOf[y], freedPos = freedPos, s.slotOf[y]
		s.acost[y] = v.predCost
		s.slots[s.slotOf[y]] = y
		x = y
	}
}

func (s *asgSolver) result() Assignment {
	a := Assignment{Volunteer: s.assign}
	for r, v := range s.assign {
		if v >= 0 {
			a.Covered++
			a.CoveredByUrgency[s.p.Urgency[r]]++
			a.Cost += int64(s.acost[r])
		}
	}
	return a
}

// asgItem is a heap entry: a volunteer and its tentative distance.
type asgItem struct {
	d int64
	v int32
}

func (a asgItem) less(b asgItem) bool {
	return a.d < b.d || (a.d == b.d && a.v < b.v)
}

// asgHeap is a binary min-heap of asgItem with lazy deletion (stale
// entries are skipped when popped).
type asgHeap struct{ a []asgItem }

func (h *asgHeap) len() int { return len(h.a) }
func (h *asgHeap) reset()   { h.a = h.a[:0] }

func (h *asgHeap) push(it asgItem) {
	h.a = append(h.a, it)
	i := len(h.a) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !it.less(h.a[parent]) {
			break
		}
		h.a[i] = h.a[parent]
		i = parent
	}
	h.a[i] = it
}

func (h *asgHeap) pop() asgItem {
	top := h.a[0]
	n := len(h.a) - 1
	last := h.a[n]
	h.a = h.a[:n]
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h.a[c+1].less(h.a[c]) {
			c++
		}
		if !h.a[c].less(last) {
			break
		}
		h.a[i] = h.a[c]
		i = c
	}
	h.a[i] = last
	return top
}

// GreedyNearestFirst is the naive baseline SolveAssignment is measured
// against: requests in order of urgency (highest first), then index; each
// takes its cheapest candidate (lowest volunteer index on equal cost) that
// still has spare capacity, or stays uncovered. It does not validate p:
// edges naming a volunteer out of range are ignored, and requests whose
// urgency is outside 0..4 come last and are not counted in
// CoveredByUrgency.
func GreedyNearestFirst(p *AssignmentProblem) Assignment {
	if p == nil {
		return Assignment{}
	}
	a := Assignment{Volunteer: make([]int32, len(p.Urgency))}
	used := make([]int32, len(p.Capacity))
	for _, r := range asgOrder(p.Urgency) {
		a.Volunteer[r] = -1
		if int(r) >= len(p.Edges) {
			continue
		}
		best, bestCost := int32(-1), int64(0)
		for _, e := range p.Edges[r] {
			v := e.Volunteer
			if v < 0 || int(v) >= len(used) || used[v] >= p.Capacity[v] {
				continue
			}
			if best < 0 || e.Cost < bestCost || (e.Cost == bestCost && v < best) {
				best, bestCost = v, e.Cost
			}
		}
		if best >= 0 {
			used[best]++
			a.Volunteer[r] = best
			a.Covered++
			a.Cost += bestCost
			if u := p.Urgency[r]; u >= 0 && u <= 4 {
				a.CoveredByUrgency[u]++
			}
		}
	}
	return a
}

// asgOrder returns the request indices by urgency, highest first, then by
// index; urgencies outside 0..4 come last.
func asgOrder(urgency []int8) []int32 {
	bucket := func(u int8) int {
		if u < 0 || u > 4 {
			return 5
		}
		return 4 - int(u)
	}
	var next [7]int
	for _, u := range urgency {
		next[bucket(u)+1]++
	}
	for k := 1; k < len(next); k++ {
		next[k] += next[k-1]
	}
	order := make([]int32, len(urgency))
	for r, u := range urgency {
		k := bucket(u)
		order[next[k]] = int32(r)
		next[k]++
	}
	return order
}
