package matcher

import (
	"cmp"
	"math"
	"runtime"
	"slices"
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
	// Requester tells one requester's requests from others' ("" if
	// unknown): of their requests whose windows meet, one volunteer takes
	// all, or this run offers only the first.
	Requester string
	// Accompany, if set, is the volunteer already going to this
	// requester's door at this time (another of their requests): this one
	// is offered to them or to nobody, never to a second volunteer.
	Accompany string
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
	// at all; SameDoor those kept for the volunteer going to their
	// requester at that time, who could not take them too; the rest of
	// the uncovered lost their candidates to others.
	NoCandidates int
	SameDoor     int
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
//
// The engine is not read-locked throughout: the searches lock it run by
// run, and the solver, which under scarcity can take a second, works on
// its own copy of the problem. A write (an accept, a volunteer's edit)
// then waits for one run of searches, not for the whole plan, and so do
// the searches queued behind that write. The plan reflects writes made
// meanwhile no less than a plan made before them would; it may be out of
// date by the time it is offered, as it may anyway by the time the caller
// acts on it, and the store checks each offer against the records as
// they are.
func (e *Engine) PlanDispatch(reqs []DispatchRequest, perRequest int, now time.Time) (Plan, error) {
	if perRequest <= 0 {
		perRequest = DefaultCandidatesPerRequest
	}
	plan, ok, err := e.planDispatch(reqs, perRequest, now, false)
	if ok || err != nil {
		return plan, err
	}
	// A volunteer was removed, or the engine renumbered, while planning:
	// the problem's engine ids may now name other volunteers. Rare; plan
	// again, holding the lock throughout.
	plan, _, err = e.planDispatch(reqs, perRequest, now, true)
	return plan, err
}

// planDispatch is PlanDispatch, holding the read lock throughout if hold
// is set; otherwise it reports false, and no plan, if an engine id it
// holds may have come to name another volunteer meanwhile (idEpoch).
func (e *Engine) planDispatch(reqs []DispatchRequest, perRequest int, now time.Time, hold bool) (Plan, bool, error) {
	if hold {
		e.rlock()
		defer e.mu.RUnlock()
	}
	dp, ok := e.dispatchProblem(reqs, perRequest, now, hold)
	if !ok {
		return Plan{}, false, nil
	}
	if !hold && e.testHook != nil {
		e.testHook("dispatch solve")
	}
	p := dp.problem
	// The greedy count is only for the summary: on the other core, while
	// the solver runs. Both only read p.
	greedy := make(chan int, 1)
	go func() { greedy <- GreedyNearestFirst(p).Covered }()
	a, err := SolveAssignment(p)
	g := <-greedy
	if err != nil {
		return Plan{}, true, err
	}
	if !hold {
		e.rlock()
		defer e.mu.RUnlock()
		if e.idEpoch != dp.epoch {
			return Plan{}, false, nil
		}
	}
	if a, err = e.resolveClashes(&dp, a); err != nil {
		return Plan{}, true, err
	}
	follow := e.followTheirDoor(&dp, reqs, a, now)
	plan := Plan{Uncovered: len(reqs) - a.Covered - len(follow), Greedy: g, NoCandidates: dp.noCandidates, SameDoor: dp.sameDoor}
	plan.SameDoor += dp.followers - len(follow)
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
				score = dp.scores[dp.edgeAt[i]+j]
			}
		}
		plan.Offers = append(plan.Offers, PlannedOffer{
			HelpRequest: reqs[i].Request.Name,
			Volunteer:   e.vols[dp.back[li]].name,
			Urgency:     reqs[i].Request.GetUrgency(),
			Score:       score,
		})
	}
	plan.Offers = append(plan.Offers, follow...)
	return plan, true, nil
}

// dispatchProblem is the assignment problem of a dispatch run, with what
// turns its solution into offers.
type dispatchProblem struct {
	problem      *AssignmentProblem
	back         []uint32  // the engine id of each of the problem's volunteers
	epoch        uint64    // the engine's idEpoch, for which back holds
	scores       []float64 // beside the problem's edges: request i's are scores[edgeAt[i]:edgeAt[i+1]]
	edgeAt       []int
	noCandidates int
	jobs         []reqJob // per request
	// leader is, per request, the request whose volunteer it follows to
	// the same door (sameDoorLeaders), or -1; followers counts those with
	// one, and sameDoor the requests to Accompany left with no candidate.
	leader              []int
	followers, sameDoor int
}

// reqJob is a request's work in time, for resolveClashes.
type reqJob struct {
	fixed bool // it has a window
	job   job
	place string
}

// dispatchProblem searches each request's candidates and builds the
// assignment problem over them. If hold is set, the caller holds the read
// lock; otherwise it read-locks the engine by runs of searches, and
// reports false, and no problem, if meanwhile an id may have come to name
// another volunteer (idEpoch).
func (e *Engine) dispatchProblem(reqs []DispatchRequest, perRequest int, now time.Time, hold bool) (dispatchProblem, bool) {
	p := &AssignmentProblem{
		Urgency: make([]int8, len(reqs)),
		Edges:   make([][]Edge, len(reqs)),
	}
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
	jobs := make([]reqJob, len(reqs))
	leader := sameDoorLeaders(reqs)
	order := dispatchOrder(reqs)
	workers := min(runtime.GOMAXPROCS(0), max(len(reqs)/64, 1))
	const run = 32
	lock, unlock := e.rlock, e.mu.RUnlock
	if hold {
		lock, unlock = func() {}, func() {} // the caller holds the lock
	}
	lock()
	offset, epoch := e.scoreOffset(), e.idEpoch
	unlock()
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
				lock()
				for _, i := range order[lo:min(lo+run, len(order))] {
					p.Urgency[i] = urgencyRank(reqs[i].Request.GetUrgency()) // while the request is at hand
					q, err := e.prepare(reqs[i].Request, reqs[i].PreviousHelpers, now)
					if err != nil {
						continue // a request without a place or time cannot be dispatched
					}
					jobs[i] = reqJob{q.fixed, q.job, q.place}
					var cands []Candidate
					switch {
					case leader[i] >= 0: // placed after the solve, beside its leader
					case reqs[i].Accompany != "":
						cands = e.accompany(q, reqs[i].Accompany)
					default:
						cands, _ = e.search(q, perRequest, false, &buf, nil)
					}
					f := found[i*perRequest:][:len(cands)]
					for j, c := range cands {
						v := &e.vols[c.id]
						f[j] = scored{c.id, max(v.capacity-v.active-v.pending, 0), c.Score}
					}
					nfound[i] = int32(len(cands))
				}
				unlock()
				if !hold && e.testHook != nil {
					e.testHook("dispatch run")
				}
			}
		}()
	}
	wg.Wait()
	lock()
	stale, nvols := e.idEpoch != epoch, len(e.vols)
	unlock()
	if stale {
		return dispatchProblem{}, false
	}
	// Volunteers are numbered densely in the order first seen, so the
	// problem's size follows the candidates, not the whole index.
	local := make([]int32, nvols) // engine id -> number+1
	var back []uint32             // number -> engine id
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
	noCandidates, followers, sameDoor := 0, 0, 0
	for i, n := range nfound {
		switch {
		case leader[i] >= 0:
			followers++
		case n > 0:
		case reqs[i].Accompany != "":
			sameDoor++
		default:
			noCandidates++
		}
	}
	return dispatchProblem{problem: p, back: back, epoch: epoch, scores: scores, edgeAt: edgeAt, noCandidates: noCandidates, jobs: jobs,
		leader: leader, followers: followers, sameDoor: sameDoor}, true
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

// maxClashRounds bounds resolveClashes' solves; past it, what still
// clashes is left uncovered for this run.
const maxClashRounds = 8

// resolveClashes keeps a from sending a volunteer to two places at once.
// The assignment problem knows capacities, not times: a volunteer with
// room for two jobs may be given two whose windows leave no time for both
// (beside the jobs they hold already, which each request's search checked
// alone). Such a volunteer keeps the jobs that fit, the most urgent and
// cheapest first; the others lose that volunteer as a candidate, and the
// problem is solved again, until nothing clashes. Each round takes away
// at least one edge. Rare: windows are mostly hours or days wide, and a
// job an hour or two. Callers hold the read lock.
func (e *Engine) resolveClashes(dp *dispatchProblem, a Assignment) (Assignment, error) {
	p := dp.problem
	var cut *AssignmentProblem // p less the clashing edges, once one is found
	for round := 0; ; round++ {
		byVol := map[int32][]int{}
		for i, li := range a.Volunteer {
			if li >= 0 && dp.jobs[i].fixed {
				byVol[li] = append(byVol[li], i)
			}
		}
		var clashes [][2]int32 // request, volunteer
		for li, rs := range byVol {
			if len(rs) < 2 {
				continue
			}
			slices.SortFunc(rs, func(x, y int) int {
				return cmp.Or(cmp.Compare(p.Urgency[y], p.Urgency[x]), cmp.Compare(edgeCost(p, x, li), edgeCost(p, y, li)), cmp.Compare(x, y))
			})
			var kept []commitment
			lo, hi := dp.jobs[rs[0]].job.start, dp.jobs[rs[0]].job.end
			for _, r := range rs {
				lo, hi = min(lo, dp.jobs[r].job.start), max(hi, dp.jobs[r].job.end)
			}
			for _, c := range e.extraOf(dp.back[li]).commitments {
				if c.start < hi && lo < c.end {
					kept = append(kept, c)
				}
			}
			for _, r := range rs {
				j := commitment{place: dp.jobs[r].place, job: dp.jobs[r].job}
				var try []job
				for _, k := range kept {
					if k.place == "" || k.place != j.place { // the same street is the same round
						try = append(try, k.job)
					}
				}
				if fits(append(try, j.job)) {
					kept = append(kept, j)
				} else {
					clashes = append(clashes, [2]int32{int32(r), li})
				}
			}
		}
		if len(clashes) == 0 {
			return a, nil
		}
		if cut == nil {
			cut = &AssignmentProblem{Urgency: p.Urgency, Edges: slices.Clone(p.Edges), Capacity: p.Capacity}
		}
		for _, c := range clashes {
			cut.Edges[c[0]] = slices.DeleteFunc(slices.Clone(cut.Edges[c[0]]), func(ed Edge) bool { return ed.Volunteer == c[1] })
		}
		if round == maxClashRounds {
			for _, c := range clashes {
				a.Cost -= edgeCost(p, int(c[0]), c[1])
				a.Volunteer[c[0]] = -1
				a.Covered--
				a.CoveredByUrgency[p.Urgency[c[0]]]--
			}
			return a, nil
		}
		var err error
		if a, err = SolveAssignment(cut); err != nil {
			return a, err
		}
	}
}

// edgeCost is the cost of request r's edge to volunteer li.
func edgeCost(p *AssignmentProblem, r int, li int32) int64 {
	for _, ed := range p.Edges[r] {
		if ed.Volunteer == li {
			return ed.Cost
		}
	}
	return 0
}

// sameDoorLeaders finds, among one requester's requests whose windows
// meet, the one dispatch plans for (the most urgent, then the first): the
// others follow its volunteer (followTheirDoor), so that two volunteers
// never meet at one door. It returns each request's leader, or -1.
func sameDoorLeaders(reqs []DispatchRequest) []int {
	leader := make([]int, len(reqs))
	byRequester := map[string][]int{}
	for i, r := range reqs {
		leader[i] = -1
		if r.Requester != "" && r.Accompany == "" && r.Request.GetWindow() != nil {
			byRequester[r.Requester] = append(byRequester[r.Requester], i)
		}
	}
	for _, is := range byRequester {
		if len(is) < 2 {
			continue
		}
		slices.SortStableFunc(is, func(x, y int) int {
			return cmp.Compare(urgencyRank(reqs[y].Request.GetUrgency()), urgencyRank(reqs[x].Request.GetUrgency()))
		})
		var leads []int
		for _, i := range is {
			for _, l := range leads {
				if windowsMeet(reqs[l].Request.GetWindow(), reqs[i].Request.GetWindow()) {
					leader[i] = l
					break
				}
			}
			if leader[i] < 0 {
				leads = append(leads, i)
			}
		}
	}
	return leader
}

func windowsMeet(a, b *pb.TimeWindow) bool {
	return a.GetStartTime().AsTime().Before(b.GetEndTime().AsTime()) && b.GetStartTime().AsTime().Before(a.GetEndTime().AsTime())
}

// accompany is the one candidate of a request whose requester's door
// volunteer name is already going to at that time: them, if the rules let
// them take it too, or nobody.
func (e *Engine) accompany(q *query, name string) []Candidate {
	id, ok := e.ids.find(e.vols, name)
	if !ok {
		return nil
	}
	v := &e.vols[id]
	metres := ApproxMetres(q.lat, q.lng, v.lat, v.lng)
	if !q.remote && metres > q.maxMetres {
		return nil
	}
	if ok, _, _, _ := e.check(q, id, metres); !ok {
		return nil
	}
	return []Candidate{e.score(q, id, metres, false)}
}

// followTheirDoor offers each follower (sameDoorLeaders) to the volunteer
// its leader was given, if the rules, their spare capacity after this
// plan's offers, and their other jobs this plan gives them at that time
// let them take it too. Callers hold the read lock.
func (e *Engine) followTheirDoor(dp *dispatchProblem, reqs []DispatchRequest, a Assignment, now time.Time) []PlannedOffer {
	if dp.followers == 0 {
		return nil
	}
	planned := map[int32]int32{}
	for _, li := range a.Volunteer {
		if li >= 0 {
			planned[li]++
		}
	}
	var out []PlannedOffer
	for i, l := range dp.leader {
		if l < 0 || a.Volunteer[l] < 0 {
			continue
		}
		li := a.Volunteer[l]
		id := dp.back[li]
		v := &e.vols[id]
		q, err := e.prepare(reqs[i].Request, reqs[i].PreviousHelpers, now)
		if err != nil || planned[li] >= v.capacity-v.active-v.pending {
			continue
		}
		metres := ApproxMetres(q.lat, q.lng, v.lat, v.lng)
		if ok, _, _, _ := e.check(q, id, metres); !ok || !q.remote && metres > q.maxMetres {
			continue
		}
		// Its other jobs in this plan, elsewhere, at that time.
		var jobs []job
		for r, lj := range a.Volunteer {
			if lj == li && r != l && dp.jobs[r].fixed && (dp.jobs[r].place == "" || dp.jobs[r].place != q.place) {
				jobs = append(jobs, dp.jobs[r].job)
			}
		}
		if q.fixed && len(jobs) > 0 && !fits(append(jobs, q.job)) {
			continue
		}
		planned[li]++
		out = append(out, PlannedOffer{
			HelpRequest: reqs[i].Request.Name,
			Volunteer:   v.name,
			Urgency:     reqs[i].Request.GetUrgency(),
			Score:       e.score(q, id, metres, false).Score,
		})
	}
	return out
}
