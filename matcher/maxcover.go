package matcher

import "math"

// maxCover returns an assignment of p that covers as many requests as any
// can, costs and urgencies aside: nearest-first's (GreedyNearestFirst),
// then Hopcroft and Karp's phases, each a breadth-first search from every
// uncovered request for the shortest augmenting paths (from a request to
// a candidate; from a volunteer with no room left to each request they
// hold) and a depth-first search along them. Dispatch uses it only to
// find the requests a path of candidates leads to from one left
// uncovered (contested), which are the same for every assignment that
// covers as many as can be (the Gallai-Edmonds and Dulmage-Mendelsohn
// decomposition, with each volunteer split into as many places as their
// capacity), the solver's among them: where volunteers are scarce this
// takes tens of milliseconds, where the solver takes most of a second.
// p must have its volunteers in range and none twice in a request's list
// (as dispatch builds it; SolveAssignment checks that).
func maxCover(p *AssignmentProblem) Assignment {
	a := GreedyNearestFirst(p)
	assign := a.Volunteer
	nr, nv := len(p.Urgency), len(p.Capacity)
	// The requests each volunteer holds, in stretches of their capacity,
	// or of how many requests list them if fewer (as the solver's slots):
	// a capacity may be anything, and the stretches sum to at most the
	// edges.
	deg := make([]int32, nv)
	for _, es := range p.Edges {
		for _, e := range es {
			deg[e.Volunteer]++
		}
	}
	at := make([]int32, nv+1)
	for v, c := range p.Capacity {
		at[v+1] = at[v] + max(min(c, deg[v]), 0)
	}
	held := make([]int32, at[nv])
	load := make([]int32, nv)
	for r, v := range assign {
		if v >= 0 {
			held[at[v]+load[v]] = int32(r)
			load[v]++
		}
	}
	const unreached = math.MaxInt32
	dist := make([]int32, nr) // a request's layer in this phase
	next := make([]int32, nr) // the next of its edges its depth-first search tries
	var queue []int32
	var last int32 // the layer whose requests reach a volunteer with room
	var augment func(r int32) bool
	augment = func(r int32) bool {
		for ; next[r] < int32(len(p.Edges[r])); next[r]++ {
			v := p.Edges[r][next[r]].Volunteer
			if load[v] < p.Capacity[v] {
				held[at[v]+load[v]] = r
				load[v]++
				assign[r] = v
				return true
			}
			if dist[r] >= last {
				continue
			}
			for k := at[v]; k < at[v]+load[v]; k++ {
				// A shortest path meets no volunteer twice: all whom v
				// holds are one layer past the first to reach v.
				if r2 := held[k]; dist[r2] == dist[r]+1 && augment(r2) {
					held[k] = r // r2 has moved on, and r takes its place
					assign[r] = v
					return true
				}
			}
		}
		dist[r] = unreached // a dead end for the rest of the phase
		return false
	}
	for {
		queue = queue[:0]
		for r := range nr {
			dist[r] = unreached
			if assign[r] < 0 && len(p.Edges[r]) > 0 {
				dist[r] = 0
				queue = append(queue, int32(r))
			}
		}
		last = unreached
		for h := 0; h < len(queue); h++ {
			r := queue[h]
			if dist[r] > last {
				break
			}
			for _, e := range p.Edges[r] {
				v := e.Volunteer
				if load[v] < p.Capacity[v] {
					last = min(last, dist[r])
					continue
				}
				if dist[r] >= last {
					continue
				}
				for _, r2 := range held[at[v] : at[v]+load[v]] {
					if dist[r2] == unreached {
						dist[r2] = dist[r] + 1
						queue = append(queue, r2)
					}
				}
			}
		}
		if last == unreached {
			break // no augmenting path: as many covered as can be
		}
		clear(next)
		more := false
		for r := range nr {
			if assign[r] < 0 && dist[r] == 0 && augment(int32(r)) {
				more = true
			}
		}
		if !more {
			break
		}
	}
	a.Covered, a.CoveredByUrgency, a.Cost = 0, [5]int{}, 0
	for r, v := range assign {
		if v < 0 {
			continue
		}
		a.Covered++
		if u := p.Urgency[r]; u >= 0 && u <= 4 {
			a.CoveredByUrgency[u]++
		}
		for _, e := range p.Edges[r] {
			if e.Volunteer == v {
				a.Cost += e.Cost
			}
		}
	}
	return a
}
