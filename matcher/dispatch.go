package matcher

import (
	"math"
	"runtime"
	"sync"
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
	e.mu.RLock()
	defer e.mu.RUnlock()
	p := &AssignmentProblem{
		Urgency: make([]int8, len(reqs)),
		Edges:   make([][]Edge, len(reqs)),
	}
	// Volunteers are numbered densely in the order first seen, so the
	// problem's size follows the candidates, not the whole index.
	local := map[uint32]int32{}
	var back []uint32
	scores := make([][]float64, len(reqs))
	offset := e.scoreOffset()
	// The searches are independent reads: spread them over the cores.
	found := make([][]Candidate, len(reqs))
	workers := min(runtime.GOMAXPROCS(0), max(len(reqs)/64, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(reqs); i += workers {
				q, err := e.prepare(reqs[i].Request, reqs[i].PreviousHelpers, now)
				if err != nil {
					continue // a request without a place or time cannot be dispatched
				}
				found[i] = e.search(q, perRequest, false, nil)
			}
		}()
	}
	wg.Wait()
	for i, dr := range reqs {
		p.Urgency[i] = urgencyRank(dr.Request.GetUrgency())
		for _, c := range found[i] {
			id := c.id
			li, ok := local[id]
			if !ok {
				li = int32(len(back))
				local[id] = li
				back = append(back, id)
			}
			cost := int64(math.Round(c.Score + offset))
			p.Edges[i] = append(p.Edges[i], Edge{Volunteer: li, Cost: min(max(cost, 0), MaxEdgeCost)})
			scores[i] = append(scores[i], c.Score)
		}
	}
	p.Capacity = make([]int32, len(back))
	for li, id := range back {
		v := &e.vols[id]
		p.Capacity[li] = max(v.capacity-v.active-v.pending, 0)
	}
	a, err := SolveAssignment(p)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Uncovered: len(reqs) - a.Covered, Greedy: GreedyNearestFirst(p).Covered}
	for i, li := range a.Volunteer {
		if li < 0 {
			continue
		}
		score := 0.0
		for j, ed := range p.Edges[i] {
			if ed.Volunteer == li {
				score = scores[i][j]
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
