package matcher

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// DispatchRequest is one OPEN request to dispatch, with the volunteers who
// helped its requester before.
type DispatchRequest struct {
	Request         *pb.HelpRequest
	PreviousHelpers []string
}

// PlannedOffer is one offer the dispatcher proposes.
type PlannedOffer struct {
	HelpRequest string
	Volunteer   string
	Urgency     pb.Urgency
	Score       float64
}

// Plan is what a dispatch run proposes.
type Plan struct {
	Offers    []PlannedOffer
	Uncovered int
	// NoCandidates are the uncovered requests nobody eligible could take
	// at all; the rest of the uncovered lost their candidates to others.
	NoCandidates int
	// Greedy is how many requests nearest-first would have covered, for the
	// summary and for tests.
	Greedy int
}

// DefaultCandidatesPerRequest is how many eligible volunteers each request
// brings to the assignment problem.
const DefaultCandidatesPerRequest = 20

// scoreOffset keeps edge costs non-negative: bonuses can take a score below
// zero, never below minus the sum of the bonuses.
func (e *Engine) scoreOffset() float64 {
	return e.cfg.SameStreetMetres + e.cfg.SamePostcodeMetres + e.cfg.ContinuityMetres
}

// PlanDispatch chooses offers for many requests at once: it collects each
// request's best perRequest eligible volunteers and solves the assignment
// problem exactly (SolveAssignment): as many requests covered as possible,
// the most urgent first, then the least total score, with every volunteer
// within their spare capacity.
func (e *Engine) PlanDispatch(reqs []DispatchRequest, perRequest int, now time.Time) (Plan, error) {
	if perRequest <= 0 {
		perRequest = DefaultCandidatesPerRequest
	}
	e.rlock()
	defer e.mu.RUnlock()
	p := &AssignmentProblem{
		Urgency: make([]int8, len(reqs)),
		Edges:   make([][]Edge, len(reqs)),
	}
	offset := e.scoreOffset()
	// The searches are independent reads: spread them over the cores, in
	// runs of requests near each other on the ground (Z-order), so that
	// each search finds most of the grid, records and slots it reads
	// already cached by the one before. Each request keeps only its
	// candidates' ids, spare capacity and scores, in its own stretch of
	// one array, so that building the problem below reads it in order.
	type scored struct {
		id    uint32
		spare int32 // capacity less assignments and pending offers, read while the record is at hand
		score float64
	}
	found := make([]scored, len(reqs)*perRequest) // request i's: found[i*perRequest:][:nfound[i]]
	nfound := make([]int32, len(reqs))
	order := dispatchOrder(reqs)
	workers := min(runtime.GOMAXPROCS(0), max(len(reqs)/64, 1))
	const run = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf searchBuf
			for {
				lo := int(next.Add(run)) - run
				if lo >= len(order) {
					return
				}
				for _, i := range order[lo:min(lo+run, len(order))] {
					p.Urgency[i] = urgencyRank(reqs[i].Request.GetUrgency()) // while the request is at hand
					q, err := e.prepare(reqs[i].Request, reqs[i].PreviousHelpers, now)
					if err != nil {
						continue // a request without a place or time cannot be dispatched
					}
					cands, _ := e.search(q, perRequest, false, &buf, nil)
					f := found[i*perRequest:][:len(cands)]
					for j, c := range cands {
						v := &e.vols[c.id]
						f[j] = scored{c.id, max(v.capacity-v.active-v.pending, 0), c.Score}
					}
					nfound[i] = int32(len(cands))
				}
			}
		}()
	}
	wg.Wait()
	// Volunteers are numbered densely in the order first seen, so the
	// problem's size follows the candidates, not the whole index.
	local := make([]int32, len(e.vols)) // engine id -> number+1
	var back []uint32
	nedges := 0
	for _, n := range nfound {
		nedges += int(n)
	}
	edges := make([]Edge, 0, nedges)
	scores := make([]float64, 0, nedges) // beside edges
	edgeAt := make([]int, len(reqs)+1)   // request i's edges are edges[edgeAt[i]:edgeAt[i+1]]
	for i := range reqs {
		edgeAt[i] = len(edges)
		for _, c := range found[i*perRequest:][:nfound[i]] {
			li := local[c.id] - 1
			if li < 0 {
				li = int32(len(back))
				local[c.id] = li + 1
				back = append(back, c.id)
				p.Capacity = append(p.Capacity, c.spare)
			}
			cost := int64(math.Round(c.score + offset))
			edges = append(edges, Edge{Volunteer: li, Cost: min(max(cost, 0), MaxEdgeCost)})
			scores = append(scores, c.score)
		}
		if len(edges) > edgeAt[i] {
			p.Edges[i] = edges[edgeAt[i]:len(edges):len(edges)]
		}
	}
	edgeAt[len(reqs)] = len(edges)
	// The greedy count is only for the summary: on the other core, while
	// the solver runs. Both only read p.
	greedy := make(chan int, 1)
	go func() { greedy <- GreedyNearestFirst(p).Covered }()
	a, err := SolveAssignment(p)
	g := <-greedy
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Uncovered: len(reqs) - a.Covered, Greedy: g}
	for _, n := range nfound {
		if n == 0 {
			plan.NoCandidates++
		}
	}
	if a.Covered > 0 {
		plan.Offers = make([]PlannedOffer, 0, a.Covered)
	}
	for i, li := range a.Volunteer {
		if li < 0 {
			continue
		}
		score := 0.0
		for j, ed := range p.Edges[i] {
			if ed.Volunteer == li {
				score = scores[edgeAt[i]+j]
			}
		}
		plan.Offers = append(plan.Offers, PlannedOffer{
			HelpRequest: reqs[i].Request.Name,
			Volunteer:   e.vols[back[li]].name,
			Urgency:     reqs[i].Request.GetUrgency(),
			Score:       score,
		})
	}
	return plan, nil
}

// dispatchOrder is the requests' indexes in Z-order of their places (those
// without one last, in index order).
func dispatchOrder(reqs []DispatchRequest) []int {
	ks := make([]zKeyed, len(reqs))
	for i, dr := range reqs {
		ks[i] = zKeyed{math.MaxUint64, uint32(i)}
		if ll := dr.Request.GetLocation().GetLatLng(); ll != nil {
			ks[i].key = zOrder(ll.Latitude, ll.Longitude)
		}
	}
	sortZ(ks)
	order := make([]int, len(reqs))
	for j, k := range ks {
		order[j] = int(k.id)
	}
	return order
}

// urgencyRank maps urgency to the solver's 0 (least) to 4 (most urgent).
func urgencyRank(u pb.Urgency) int8 {
	switch u {
	case pb.Urgency_URGENCY_LOW:
		return 1
	case pb.Urgency_URGENCY_HIGH:
		return 3
	case pb.Urgency_URGENCY_CRITICAL:
		return 4
	default:
		return 2
	}
}
