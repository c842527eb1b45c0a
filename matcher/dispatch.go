package matcher

import (
	"cmp"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// DispatchRequest is one OPEN request to dispatch, with the volunteers who
// helped its requester before.
type DispatchRequest struct {
	Request         *pb.HelpRequest
	PreviousHelpers []string
	// Requester tells one requester's requests from others' ("" if
	// unknown): their requests whose windows meet all go to one volunteer,
	// or wait for them (oneVolunteerPerDoor). A remote request (Remote)
	// takes nobody to the door, and is in no such group.
	Requester string
	// Accompany, if set, is the volunteer already going to this
	// requester's door at this time (another of their requests): this one,
	// and those of theirs whose windows meet it, go to them or wait. A
	// remote request, helped from wherever its volunteer is, waits for
	// nobody, and its Accompany and Crowded are not read.
	Accompany string
	// Crowded says that two volunteers are already going to that door at
	// times meeting this one's: it waits, for a coordinator to decide.
	Crowded bool
	// Door, if set, names the street of the request's door as the store
	// judges it (store.MatchingInput.Door), which sees all the caller's
	// live requests, not only the open ones dispatched: a request without
	// a street is at the caller's one street there. Unset, the requests
	// dispatched together are all there is to judge by.
	Door string
}

// visit is r's volunteer going to its requester's door, and whether
// another is going there at a meeting time (Accompany, Crowded): "" and
// false for a remote request, whose volunteer helps from afar.
func (r *DispatchRequest) visit() (accompany string, crowded bool) {
	if Remote(r.Request) {
		return "", false
	}
	return r.Accompany, r.Crowded
}

// PlannedOffer is one offer the dispatcher proposes.
type PlannedOffer struct {
	HelpRequest string
	Volunteer   string
	Urgency     pb.Urgency
	Score       float64
	// VolunteerEtag is the etag of the volunteer's record the plan judged:
	// the store's check of the offer applies the rules again to a record
	// that has changed since.
	VolunteerEtag string
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
// brings to the assignment problem at first (see widen for more).
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
// within their spare capacity. Where that would leave requests open that
// others' moving on might cover (volunteers are scarce), those others
// bring more of their eligible volunteers first (widen).
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
	dp, a, g, ok, err := e.candidateGraph(reqs, perRequest, now, hold)
	if !ok || err != nil {
		return Plan{}, ok, err
	}
	p := dp.problem
	if !hold {
		e.rlock()
		defer e.mu.RUnlock()
		if e.idEpoch != dp.epoch {
			return Plan{}, false, nil
		}
	}
	if a, err = e.resolveClashes(&dp, a, now); err != nil {
		return Plan{}, true, err
	}
	o := e.settle(&dp, reqs, a, now)
	// A request kept waiting for the volunteer going to its door leaves
	// the one the solution gave it idle, while requests only they could
	// take go without. Solve again with the waiting requests' candidates
	// taken away (they may still join their door's volunteer), and keep
	// the better plan. Rare: one caller's requests at one time.
	cut := AssignmentProblem{Urgency: p.Urgency, Capacity: p.Capacity}
	for range maxDoorRounds {
		idle := false
		for i, w := range o.waiting {
			if !w {
				continue
			}
			idle = idle || a.Volunteer[i] >= 0
			if cut.Edges == nil {
				cut.Edges = slices.Clone(p.Edges)
			}
			cut.Edges[i] = nil
		}
		if !idle || !freesForOthers(&cut, a, o) {
			break
		}
		dp2 := dp
		dp2.problem = &cut
		if !hold {
			e.mu.RUnlock() // the solver reads only its own copy, as above
		}
		a, err = SolveAssignment(&cut)
		if !hold {
			e.rlock()
			if e.idEpoch != dp.epoch {
				return Plan{}, false, nil
			}
		}
		if err != nil {
			return Plan{}, true, err
		}
		if a, err = e.resolveClashes(&dp2, a, now); err != nil {
			return Plan{}, true, err
		}
		o2 := e.settle(&dp, reqs, a, now)
		if !o2.better(o, reqs) {
			break
		}
		o = o2
	}
	final, scores, revs, waiting := o.final, o.scores, o.revs, o.waiting
	plan := Plan{Greedy: g}
	for i, id := range final {
		switch {
		case id >= 0:
			plan.Offers = append(plan.Offers, PlannedOffer{
				HelpRequest:   reqs[i].Request.Name,
				Volunteer:     e.nameOf(uint32(id)),
				Urgency:       reqs[i].Request.GetUrgency(),
				Score:         scores[i],
				VolunteerEtag: strconv.FormatUint(revs[i], 10),
			})
		case waiting[i]:
			plan.SameDoor++
		case dp.nfound[i] == 0:
			plan.NoCandidates++
		}
	}
	plan.Uncovered = len(reqs) - len(plan.Offers)
	return plan, true, nil
}

// freesForOthers says whether solving p, the problem without o's waiting
// requests, could cover another: whether a request uncovered in o reaches a
// volunteer a gave a waiting request, by a path of candidates each
// passing on the request they hold in a. A solve under scarcity can take
// a second; this walk costs one pass over the edges, and is made in
// slices rather than maps, as it runs in most large dispatches (any
// caller with two requests at one time may have one waiting).
func freesForOthers(p *AssignmentProblem, a Assignment, o settled) bool {
	freed := make([]bool, len(p.Capacity))
	for i, w := range o.waiting {
		if w && a.Volunteer[i] >= 0 {
			freed[a.Volunteer[i]] = true
		}
	}
	// Each volunteer's requests in a: a list from first (request+1, or 0
	// for none) threaded through next.
	first := make([]int32, len(p.Capacity))
	next := make([]int32, len(a.Volunteer))
	queue := make([]int, 0, len(a.Volunteer)) // each request enters once at most
	for i, li := range a.Volunteer {
		switch {
		case li >= 0:
			next[i], first[li] = first[li], int32(i)+1
		case o.final[i] < 0 && !o.waiting[i]:
			queue = append(queue, i)
		}
	}
	seen := make([]bool, len(p.Capacity))
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, ed := range p.Edges[r] {
			if freed[ed.Volunteer] {
				return true
			}
			if !seen[ed.Volunteer] {
				seen[ed.Volunteer] = true
				for k := first[ed.Volunteer]; k > 0; k = next[k-1] {
					queue = append(queue, int(k-1))
				}
			}
		}
	}
	return false
}

// contested says, per request, whether a path of candidates leads to it
// from a request a leaves uncovered: from a request to each of its
// candidates, and from a volunteer to each request a gives them. Those
// are the requests a wider list might let the solver move, to make room
// for one uncovered: any request that another could be covered at the
// cost of has its place on such a path (an augmenting path, or one to a
// less urgent request, as the solver's own searches go).
func contested(p *AssignmentProblem, a Assignment) []bool {
	// The requests each volunteer holds, in one array.
	at := make([]int32, len(p.Capacity)+1)
	for _, li := range a.Volunteer {
		if li >= 0 {
			at[li+1]++
		}
	}
	for v := range len(p.Capacity) {
		at[v+1] += at[v]
	}
	held := make([]int32, at[len(p.Capacity)])
	fill := slices.Clone(at[:len(p.Capacity)])
	for i, li := range a.Volunteer {
		if li >= 0 {
			held[fill[li]] = int32(i)
			fill[li]++
		}
	}
	seen := make([]bool, len(a.Volunteer))
	visited := make([]bool, len(p.Capacity))
	var queue []int32
	for i, li := range a.Volunteer {
		if li < 0 && len(p.Edges[i]) > 0 {
			seen[i] = true
			queue = append(queue, int32(i))
		}
	}
	for len(queue) > 0 {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, ed := range p.Edges[r] {
			if visited[ed.Volunteer] {
				continue
			}
			visited[ed.Volunteer] = true
			for _, r2 := range held[at[ed.Volunteer]:at[ed.Volunteer+1]] {
				if !seen[r2] {
					seen[r2] = true
					queue = append(queue, r2)
				}
			}
		}
	}
	return seen
}

// candidateGraph searches each request's candidates, widens the lists
// of those whose moving on might let a request left open be covered
// (widen), and solves the assignment problem over them: the problem it
// returns is the candidate graph the plan is optimal on, with its
// solution and how many nearest-first covers on it (Plan.Greedy). Which
// requests to widen is judged on maxCover's assignment of the first
// lists, the same requests as the solver's would give, in milliseconds
// where the solver under scarcity takes most of a second: it then runs
// once. ok is false, with nothing else, if an engine id may have come to
// name another volunteer meanwhile (idEpoch); err is the solver's.
func (e *Engine) candidateGraph(reqs []DispatchRequest, perRequest int, now time.Time, hold bool) (dp dispatchProblem, a Assignment, greedy int, ok bool, err error) {
	dp, ok = e.dispatchProblem(reqs, perRequest, now, hold)
	if !ok {
		return dispatchProblem{}, Assignment{}, 0, false, nil
	}
	if !hold && e.testHook != nil {
		e.testHook("dispatch solve")
	}
	if !e.widen(&dp, reqs, maxCover(dp.problem), perRequest, now, hold) {
		return dispatchProblem{}, Assignment{}, 0, false, nil
	}
	if a, greedy, err = solveCounting(dp.problem); err != nil {
		return dispatchProblem{}, Assignment{}, 0, true, err
	}
	return dp, a, greedy, true, nil
}

// solveCounting solves p, and counts what nearest-first covers on it (for
// the summary) on the other core meanwhile. Both only read p.
func solveCounting(p *AssignmentProblem) (Assignment, int, error) {
	greedy := make(chan int, 1)
	go func() { greedy <- GreedyNearestFirst(p).Covered }()
	a, err := SolveAssignment(p)
	return a, <-greedy, err
}

// maxDoorRounds bounds the solves planDispatch makes again for requests
// kept waiting for their door's volunteer.
const maxDoorRounds = 3

// settled is a dispatch's outcome per request: its volunteer, by engine
// id, or -1; its score and the volunteer's record judged; and whether it
// waits for its door's volunteer (oneVolunteerPerDoor).
type settled struct {
	final   []int64
	scores  []float64
	revs    []uint64
	waiting []bool
}

// settle turns a solution of dp's problem (or of one with fewer edges)
// into each request's volunteer, one to a door. Callers hold the read
// lock.
func (e *Engine) settle(dp *dispatchProblem, reqs []DispatchRequest, a Assignment, now time.Time) settled {
	p := dp.problem
	o := settled{final: make([]int64, len(reqs)), scores: make([]float64, len(reqs)), revs: make([]uint64, len(reqs))}
	for i, li := range a.Volunteer {
		o.final[i] = -1
		if li < 0 {
			continue
		}
		o.final[i] = int64(dp.back[li])
		for j, ed := range p.Edges[i] {
			if ed.Volunteer == li {
				o.scores[i], o.revs[i] = dp.scores[dp.edgeAt[i]+j], dp.revs[dp.edgeAt[i]+j]
			}
		}
	}
	o.waiting = e.oneVolunteerPerDoor(dp, reqs, o.final, o.scores, o.revs, now)
	return o
}

// better says whether o covers more requests than b, or as many and more
// of the most urgent, or those at a lower total score.
func (o settled) better(b settled, reqs []DispatchRequest) bool {
	count := func(s settled) (n int, by [5]int, total float64) {
		for i, id := range s.final {
			if id >= 0 {
				n++
				by[4-urgencyRank(reqs[i].Request.GetUrgency())]++
				total += s.scores[i]
			}
		}
		return n, by, total
	}
	on, oby, ototal := count(o)
	bn, bby, btotal := count(b)
	if on != bn {
		return on > bn
	}
	if c := slices.Compare(oby[:], bby[:]); c != 0 {
		return c > 0
	}
	return ototal < btotal
}

// dispatchProblem is the assignment problem of a dispatch run, with what
// turns its solution into offers.
type dispatchProblem struct {
	problem *AssignmentProblem
	back    []uint32  // the engine id of each of the problem's volunteers
	epoch   uint64    // the engine's idEpoch, for which back holds
	scores  []float64 // beside the problem's edges: request i's are scores[edgeAt[i]:edgeAt[i+1]]
	revs    []uint64  // beside them too: each candidate's record as its search judged it (volunteer.rev)
	edgeAt  []int
	jobs    []reqJob // per request
	// group is, per request, the same-door group it is in (sameDoorGroups),
	// or -1; nfound its number of candidates.
	group  []int
	nfound []int32
	// coming is, per request, the problem's volunteer already going to
	// its door (Accompany), or -1 (none, or not among the candidates);
	// comingID the same by engine id, or -1 (none, or not in the engine).
	coming   []int32
	comingID []int64
	offset   float64 // scoreOffset, as the searches began
	order    []int   // the requests in Z-order (dispatchOrder), as searched
}

// locker is the engine's read lock and unlock, or, if hold (the caller
// holds the lock), nothing.
func (e *Engine) locker(hold bool) (lock, unlock func()) {
	if hold {
		return func() {}, func() {}
	}
	return e.rlock, e.mu.RUnlock
}

// searchRuns calls search for each request of order, on as many
// goroutines as there are cores, in runs of requests near each other on
// the ground (order is in Z-order), so that each search finds most of the
// grid, records and slots it reads already cached by the one before. Each
// run holds the read lock, unless hold (the caller holds it): a write (an
// accept, a volunteer's edit) then waits for one run, not for every
// search, and so do the searches queued behind it. After each run the
// test hook, if any, is told point (from any of the goroutines).
func (e *Engine) searchRuns(order []int, hold bool, point string, search func(i int, buf *searchBuf)) {
	workers := min(runtime.GOMAXPROCS(0), max(len(order)/64, 1))
	const run = 32
	lock, unlock := e.locker(hold)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf searchBuf
			for {
				lo := int(next.Add(run)) - run
				if lo >= len(order) {
					return
				}
				lock()
				for _, i := range order[lo:min(lo+run, len(order))] {
					search(i, &buf)
				}
				unlock()
				if !hold && e.testHook != nil {
					e.testHook(point)
				}
			}
		})
	}
	wg.Wait()
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
	urgency := make([]int8, len(reqs))
	// The searches are independent reads (searchRuns). Each request keeps
	// only its candidates' ids, spare capacity and scores, in its own
	// stretch of one array, so that building the problem reads it in
	// order.
	found := make([]dispatchCand, len(reqs)*perRequest) // request i's: found[i*perRequest:][:nfound[i]]
	nfound := make([]int32, len(reqs))
	coming := make([]int64, len(reqs)) // request i's Accompany by engine id, or -1
	jobs := make([]reqJob, len(reqs))
	group := sameDoorGroups(reqs)
	order := dispatchOrder(reqs)
	lock, unlock := e.locker(hold)
	lock()
	offset, epoch := e.scoreOffset(), e.idEpoch
	unlock()
	e.searchRuns(order, hold, "dispatch run", func(i int, buf *searchBuf) {
		urgency[i] = urgencyRank(reqs[i].Request.GetUrgency()) // while the request is at hand
		coming[i] = -1
		accompany, crowded := reqs[i].visit()
		if name := accompany; name != "" {
			if id, ok := e.ids.find(e, name); ok {
				coming[i] = int64(id)
			}
		}
		q, err := e.prepare(reqs[i].Request, reqs[i].PreviousHelpers, now)
		if err != nil {
			return // a request without a place or time cannot be dispatched
		}
		jobs[i] = reqJob{q.fixed, q.job, q.place}
		var cands []Candidate
		switch {
		case crowded: // waits: see oneVolunteerPerDoor
		case accompany != "":
			cands = e.accompany(q, accompany)
		default:
			cands, _ = e.search(q, perRequest, false, buf, nil)
		}
		nfound[i] = int32(len(e.dispatchCands(found[i*perRequest:][:0], cands)))
	})
	lock()
	stale, nvols := e.idEpoch != epoch, len(e.vols)
	unlock()
	if stale {
		return dispatchProblem{}, false
	}
	nedges := 0
	for _, n := range nfound {
		nedges += int(n)
	}
	dp := dispatchProblem{epoch: epoch, offset: offset, jobs: jobs, group: group, comingID: coming, order: order}
	dp.assemble(nvols, urgency, nedges, func(i int) []dispatchCand {
		return found[i*perRequest:][:nfound[i]]
	})
	return dp, true
}

// dispatchCand is one of a request's candidates as its search found it:
// the volunteer's engine id, their spare capacity (capacity less
// assignments and pending offers, read while the record is at hand), the
// score, and the record's revision.
type dispatchCand struct {
	id    uint32
	spare int32
	score float64
	rev   uint64
}

// dispatchCands appends cands to dst as dispatchCands. Callers hold the
// read lock.
func (e *Engine) dispatchCands(dst []dispatchCand, cands []Candidate) []dispatchCand {
	for _, c := range cands {
		v := &e.vols[c.id]
		dst = append(dst, dispatchCand{c.id, max(v.capacity-v.active-v.pending, 0), c.Score, v.rev})
	}
	return dst
}

// assemble builds dp's assignment problem over each request's candidates,
// lists(i) (read before lists(i+1) is asked for), nedges in all, with
// engine ids below nvols, and the requests' urgencies. Volunteers are
// numbered densely in the order first seen, so that the problem's size
// follows the candidates, not the whole index; a volunteer's room is the
// spare capacity first seen.
func (dp *dispatchProblem) assemble(nvols int, urgency []int8, nedges int, lists func(i int) []dispatchCand) {
	n := len(urgency)
	p := &AssignmentProblem{Urgency: urgency, Edges: make([][]Edge, n)}
	local := make([]int32, nvols) // engine id -> number+1
	var back []uint32             // number -> engine id
	edges := make([]Edge, 0, nedges)
	scores := make([]float64, 0, nedges) // beside edges
	revs := make([]uint64, 0, nedges)    // and these
	edgeAt := make([]int, n+1)           // request i's edges are edges[edgeAt[i]:edgeAt[i+1]]
	nfound := make([]int32, n)
	for i := range n {
		edgeAt[i] = len(edges)
		l := lists(i)
		nfound[i] = int32(len(l))
		for _, c := range l {
			li := local[c.id] - 1
			if li < 0 {
				li = int32(len(back))
				local[c.id] = li + 1
				back = append(back, c.id)
				p.Capacity = append(p.Capacity, c.spare)
			}
			cost := int64(math.Round(c.score + dp.offset))
			edges = append(edges, Edge{Volunteer: li, Cost: min(max(cost, 0), MaxEdgeCost)})
			scores = append(scores, c.score)
			revs = append(revs, c.rev)
		}
		if len(edges) > edgeAt[i] {
			p.Edges[i] = edges[edgeAt[i]:len(edges):len(edges)]
		}
	}
	edgeAt[n] = len(edges)
	going := make([]int32, n)
	for i, id := range dp.comingID {
		going[i] = -1
		if id >= 0 && int(id) < nvols {
			going[i] = local[id] - 1
		}
	}
	dp.problem, dp.back, dp.scores, dp.revs, dp.edgeAt, dp.nfound, dp.coming = p, back, scores, revs, edgeAt, nfound, going
}

// dispatchWiden is how many times perRequest candidates widen gives a
// contested request, up to dispatchWidenMax (the server's most per
// request). Under scarcity (BenchmarkPlanDispatch's 15,000 requests and
// as many volunteers, each free for one) the optimum on 20 candidates a
// request covered 14,030; widened to 40, 60 or 80, 14,172, 14,202 or
// 14,209; and given 400 each, 14,212. The solve over the wider lists is
// the cost: that run took 0.75-0.82 s, and takes 1.37-1.60 s widened
// fourfold. Where volunteers are not scarce nothing is widened: among
// 200,000, the 539 of 20,000 requests left open have no candidates.
const (
	dispatchWiden    = 4
	dispatchWidenMax = 100
)

// widen gives each request that a, an assignment of dp's problem
// covering as many as can be, leaves uncovered, or that one uncovered
// could be covered at the cost of (contested), and whose search found
// all the perRequest candidates it asked for, dispatchWiden times as
// many, and rebuilds dp's problem with them, and with every candidate
// the first search found. Each of a request's nearest may be taken by a
// request that only they can take, while someone a little further off
// is free: a request left open for it, where moving another on would
// cover both, is a person not helped. The wider problem keeps every
// edge, so its optimum covers at least as many, at each urgency (the
// wider search alone may miss some of a remote request's first
// candidates: see the lists below). It reports false, with dp unchanged,
// if an engine id may have come to name another volunteer meanwhile
// (idEpoch). A request that waits for,
// or goes with, its door's volunteer keeps its candidates.
func (e *Engine) widen(dp *dispatchProblem, reqs []DispatchRequest, a Assignment, perRequest int, now time.Time, hold bool) bool {
	k := min(perRequest*dispatchWiden, dispatchWidenMax)
	if k <= perRequest {
		return true
	}
	in := contested(dp.problem, a)
	slot := make([]int32, len(reqs)) // request -> 1 + its place in wide, or 0
	var wide []int                   // in Z-order, as searched before
	for _, i := range dp.order {
		if !in[i] || int(dp.nfound[i]) < perRequest {
			continue
		}
		if accompany, crowded := reqs[i].visit(); accompany == "" && !crowded {
			wide = append(wide, i)
			slot[i] = int32(len(wide))
		}
	}
	if len(wide) == 0 {
		return true
	}
	found := make([]dispatchCand, len(wide)*k) // wide[j]'s: found[j*k:][:nfound[j]]
	nfound := make([]int32, len(wide))
	e.searchRuns(wide, hold, "dispatch widen", func(i int, buf *searchBuf) {
		q, err := e.prepare(reqs[i].Request, reqs[i].PreviousHelpers, now)
		if err != nil {
			return // it found candidates before: unreachable, and harmless
		}
		j := slot[i] - 1
		cands, _ := e.search(q, k, false, buf, nil)
		nfound[j] = int32(len(e.dispatchCands(found[int(j)*k:][:0], cands)))
	})
	lock, unlock := e.locker(hold)
	lock()
	stale, nvols := e.idEpoch != dp.epoch, len(e.vols)
	unlock()
	if stale {
		return false
	}
	nedges := len(dp.scores)
	for j := range wide {
		nedges += int(nfound[j])
	}
	old := *dp
	var scratch []dispatchCand
	dp.assemble(nvols, old.problem.Urgency, nedges, func(i int) []dispatchCand {
		scratch = scratch[:0]
		if j := int(slot[i]) - 1; j >= 0 {
			scratch = append(scratch, found[j*k:][:nfound[j]]...)
		}
		// The narrow list, or what the wide one lacks of it: a remote
		// request ranks a pool of its nearest that doubles past a tie at
		// its edge (remotePool), so that its narrow search may have ranked
		// candidates from further out than its wide one read.
		wideN := len(scratch)
		at := old.edgeAt[i]
		for n, ed := range old.problem.Edges[i] {
			id := old.back[ed.Volunteer]
			if !slices.ContainsFunc(scratch[:wideN], func(c dispatchCand) bool { return c.id == id }) {
				scratch = append(scratch, dispatchCand{id, old.problem.Capacity[ed.Volunteer], old.scores[at+n], old.revs[at+n]})
			}
		}
		return scratch
	})
	return true
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
// problem is solved again, until nothing clashes; then the requests left
// out for a clash get a second chance (coverClashed). Each round takes
// away at least one edge. Rare: windows are mostly hours or days wide, and a
// job an hour or two. Callers hold the read lock.
func (e *Engine) resolveClashes(dp *dispatchProblem, a Assignment, now time.Time) (Assignment, error) {
	p := dp.problem
	var cut *AssignmentProblem // p less the clashing edges, once one is found
	var lost [][2]int32        // every clashing edge cut: request, volunteer
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
			// All the jobs they hold count: one can push another.
			kept := slices.Clone(e.extraOf(dp.back[li]).commitments)
			for _, r := range rs {
				j := commitment{place: dp.jobs[r].place, job: dp.jobs[r].job}
				if fits(rounds(now.Unix(), append(slices.Clip(kept), j))) {
					kept = append(kept, j)
				} else {
					clashes = append(clashes, [2]int32{int32(r), li})
				}
			}
		}
		if len(clashes) == 0 {
			return e.coverClashed(dp, a, lost, now), nil
		}
		lost = append(lost, clashes...)
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
			return e.coverClashed(dp, a, lost, now), nil
		}
		var err error
		if a, err = SolveAssignment(cut); err != nil {
			return a, err
		}
	}
}

// coverClashed gives each request that lost a volunteer to a clash, and
// is uncovered, a second chance with that volunteer. The rounds above
// keep a volunteer's most urgent and cheapest jobs without asking whether
// those could go elsewhere: a critical request kept by a volunteer whom a
// free neighbour could have replaced left a low one that only they could
// do uncovered (and, the volunteer busy then, uncovered in every run
// after), and one critical request could push out another that only they
// could do while their neighbour went to a low one. So the volunteer
// takes it if one of their jobs in the way moves to another of its
// candidates with room and time for it, if need be pushing out a job less
// urgent than this request there, or if a job in the way is itself less
// urgent and is dropped. A move that covers one more is preferred, then
// the one that drops the least urgent, then the cheapest; the most urgent
// requests are tried first. A caller's requests at one door at one time
// are left as they are: moving one would part it from the door's
// volunteer (oneVolunteerPerDoor). Nor does a door's volunteer (one
// holding such a request, or already going there) take a job moved in or
// one lost to a clash, while any of that door's requests is not theirs:
// oneVolunteerPerDoor gives them those afterwards, and such a job would
// take the room or the time one of those needs, covering a low request at
// the price of a critical one. Callers hold the read lock.
func (e *Engine) coverClashed(dp *dispatchProblem, a Assignment, lost [][2]int32, now time.Time) Assignment {
	if len(lost) == 0 {
		return a
	}
	p := dp.problem
	on := map[int32][]int{} // each volunteer's requests in the plan
	for r, li := range a.Volunteer {
		if li >= 0 {
			on[li] = append(on[li], r)
		}
	}
	// A door's volunteer matters while a request of that door which
	// someone is eligible for is not theirs: oneVolunteerPerDoor will give
	// it to them.
	open := map[int]bool{}
	goes := map[int]int32{} // each door's volunteer so far (-1: nobody)
	see := func(g int, li int32) {
		if v, ok := goes[g]; ok && v != li {
			open[g] = true
		}
		goes[g] = li
	}
	for r, g := range dp.group {
		if g >= 0 && dp.nfound[r] > 0 {
			see(g, a.Volunteer[r])
		}
		if g >= 0 && dp.coming[r] >= 0 {
			see(g, dp.coming[r])
		}
	}
	door := make([]bool, len(p.Capacity))
	for r, g := range dp.group {
		if g >= 0 && open[g] {
			for _, li := range []int32{a.Volunteer[r], dp.coming[r]} {
				if li >= 0 {
					door[li] = true
				}
			}
		}
	}
	// fitsWith says whether volunteer li has room and time for their held
	// jobs and those of the plan, less request skip's (or none, -1), and
	// request add's.
	budget, orders := maxCoverChecks, maxCoverOrders
	fitsWith := func(li int32, skip, add int) bool {
		if budget--; budget < 0 || orders <= 0 {
			return false
		}
		n := int32(len(on[li])) + 1
		if skip >= 0 {
			n--
		}
		if n > p.Capacity[li] {
			return false
		}
		if !dp.jobs[add].fixed {
			return true
		}
		cs := slices.Clone(e.extraOf(dp.back[li]).commitments)
		for _, r := range on[li] {
			if r != skip && dp.jobs[r].fixed {
				cs = append(cs, commitment{place: dp.jobs[r].place, job: dp.jobs[r].job})
			}
		}
		cs = append(cs, commitment{place: dp.jobs[add].place, job: dp.jobs[add].job})
		ok, tried := coverFits(rounds(now.Unix(), cs))
		orders -= tried
		return ok
	}
	// A move: u to li; k (if >= 0) from li to w; drop (if >= 0) uncovered.
	type move struct {
		k, drop int
		w       int32
		cost    int64 // the change in total cost
	}
	urgency := func(r int) int8 {
		if r < 0 {
			return -1 // nobody dropped: best of all
		}
		return p.Urgency[r]
	}
	better := func(x, y move) bool {
		return cmp.Or(cmp.Compare(urgency(x.drop), urgency(y.drop)), cmp.Compare(x.cost, y.cost)) < 0
	}
	lost = slices.Clone(lost)
	slices.SortFunc(lost, func(x, y [2]int32) int {
		return cmp.Or(cmp.Compare(p.Urgency[y[0]], p.Urgency[x[0]]), cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	for _, c := range slices.Compact(lost) {
		u, li := int(c[0]), c[1]
		if a.Volunteer[u] >= 0 || dp.group[u] >= 0 || door[li] {
			continue
		}
		cu := edgeCost(p, u, li)
		var best *move
		try := func(m move) {
			if best == nil || better(m, *best) {
				best = &m
			}
		}
		if fitsWith(li, -1, u) {
			try(move{k: -1, drop: -1, cost: cu}) // room and time for it after all
		}
		for _, k := range on[li] {
			if dp.group[k] >= 0 || !fitsWith(li, k, u) {
				continue
			}
			ck := edgeCost(p, k, li)
			if p.Urgency[k] < p.Urgency[u] {
				try(move{k: -1, drop: k, cost: cu - ck})
			}
			for _, ed := range p.Edges[k] {
				w := ed.Volunteer
				if w == li || door[w] {
					continue
				}
				if fitsWith(w, -1, k) {
					try(move{k: k, drop: -1, w: w, cost: cu + ed.Cost - ck})
					continue
				}
				for _, j := range on[w] {
					if p.Urgency[j] < p.Urgency[u] && dp.group[j] < 0 && fitsWith(w, j, k) {
						try(move{k: k, drop: j, w: w, cost: cu + ed.Cost - ck - edgeCost(p, j, w)})
					}
				}
			}
		}
		if best == nil {
			continue
		}
		m := *best
		if m.drop >= 0 {
			d := a.Volunteer[m.drop]
			on[d] = slices.DeleteFunc(on[d], func(r int) bool { return r == m.drop })
			a.Volunteer[m.drop] = -1
			a.Covered--
			a.CoveredByUrgency[p.Urgency[m.drop]]--
		}
		if m.k >= 0 {
			on[li] = slices.DeleteFunc(on[li], func(r int) bool { return r == m.k })
			on[m.w] = append(on[m.w], m.k)
			a.Volunteer[m.k] = m.w
		}
		on[li] = append(on[li], u)
		a.Volunteer[u] = li
		a.Cost += m.cost
		a.Covered++
		a.CoveredByUrgency[p.Urgency[u]]++
	}
	return a
}

// maxCoverChecks bounds the schedules coverClashed checks in one plan,
// so that volunteers with room for many, clashing everywhere, cannot make
// a dispatch slow; past it, what still clashes waits for the next run.
// maxCoverOrders bounds the orders of jobs those checks try: a check that
// says no to six jobs tries all 720 (fits), so that 100,000 checks could
// take a second, under the read lock. A million take some 20 ms.
const (
	maxCoverChecks = 100_000
	maxCoverOrders = 1_000_000
)

// coverFits is fitsTrying, a variable so that tests can count the orders.
var coverFits = fitsTrying

// edgeCost is the cost of request r's edge to volunteer li.
func edgeCost(p *AssignmentProblem, r int, li int32) int64 {
	for _, ed := range p.Edges[r] {
		if ed.Volunteer == li {
			return ed.Cost
		}
	}
	return 0
}

// sameDoorGroups puts together one requester's requests whose windows
// meet, directly or through others of theirs: one door at one time, for
// one volunteer (oneVolunteerPerDoor). It returns each request's group, or
// -1 for a request in none, as is every remote one: its volunteer is not
// at the door, nor does it join two visits whose times do not meet.
func sameDoorGroups(reqs []DispatchRequest) []int {
	group := make([]int, len(reqs))
	byDoor := map[string][]int{}
	streets := map[string]map[string]bool{}
	for _, r := range reqs {
		if r.Requester == "" || r.Request.GetWindow() == nil {
			continue
		}
		at := r.Requester + "|" + r.Request.GetLocation().GetPostcode()
		if streets[at] == nil {
			streets[at] = map[string]bool{}
		}
		if k := geo.StreetKey(r.Request.GetLocation().GetStreet()); k != "" {
			streets[at][k] = true
		}
	}
	blank := map[string]string{}
	for at, ks := range streets {
		requester, postcode, _ := strings.Cut(at, "|")
		blank[at] = requester + "|-|" + postcode // no street given at all, or several: not known
		if len(ks) == 1 {
			for k := range ks {
				blank[at] = requester + "|" + k + "|" + postcode
			}
		}
	}
	var doors []string // as first seen, so that groups are numbered the same every run
	for i, r := range reqs {
		group[i] = -1
		if r.Requester == "" || r.Request.GetWindow() == nil || Remote(r.Request) {
			continue
		}
		// One caller at one place: a number shared by several homes (a
		// partner's office) is not one door.
		var door string
		switch {
		case r.Door != "":
			door = r.Requester + "|" + r.Door + "|" + r.Request.GetLocation().GetPostcode()
		case placeOf(r.Request.GetLocation().GetStreet(), "") == "":
			// No street: the door is the one street this caller gave at
			// this postcode, if they gave just one.
			door = blank[r.Requester+"|"+r.Request.GetLocation().GetPostcode()]
		default:
			door = r.Requester + "|" + geo.StreetKey(r.Request.GetLocation().GetStreet()) + "|" + r.Request.GetLocation().GetPostcode()
		}
		if _, ok := byDoor[door]; !ok {
			doors = append(doors, door)
		}
		byDoor[door] = append(byDoor[door], i)
	}
	// A street not known may be any of the caller's at that postcode, as
	// the store judges it: its door and theirs there are one, so that
	// dispatch plans nothing the store would refuse as a second volunteer.
	unknown := map[string]string{} // requester|postcode -> the merged door
	for _, door := range doors {
		if requester, rest, _ := strings.Cut(door, "|"); strings.HasPrefix(rest, "-|") {
			at := requester + "|" + strings.TrimPrefix(rest, "-|")
			unknown[at] = requester + "|*|" + strings.TrimPrefix(rest, "-|")
		}
	}
	if len(unknown) > 0 {
		merged := doors[:0:0]
		into := map[string][]int{}
		for _, door := range doors {
			requester, rest, _ := strings.Cut(door, "|")
			_, postcode, _ := strings.Cut(rest, "|")
			to, ok := unknown[requester+"|"+postcode]
			if !ok {
				to = door
			}
			if _, seen := into[to]; !seen {
				merged = append(merged, to)
			}
			into[to] = append(into[to], byDoor[door]...)
		}
		doors, byDoor = merged, into
	}
	n := 0
	for _, door := range doors {
		is := byDoor[door]
		if len(is) < 2 && reqs[is[0]].Accompany == "" && !reqs[is[0]].Crowded {
			continue
		}
		slices.SortStableFunc(is, func(x, y int) int {
			return cmp.Compare(reqs[x].Request.GetWindow().GetStartTime().AsTime().UnixNano(), reqs[y].Request.GetWindow().GetStartTime().AsTime().UnixNano())
		})
		// By start: a request meeting none before it (by the latest end
		// so far) starts a new group.
		var end time.Time
		for k, i := range is {
			w := reqs[i].Request.GetWindow()
			if k == 0 || !w.GetStartTime().AsTime().Before(end) {
				n++
			}
			group[i] = n - 1
			if e := w.GetEndTime().AsTime(); e.After(end) {
				end = e
			}
		}
	}
	return group
}

// accompany is the one candidate of a request whose requester's door
// volunteer name is already going to at that time: them, if the rules let
// them take it too, or nobody.
func (e *Engine) accompany(q *query, name string) []Candidate {
	id, ok := e.ids.find(e, name)
	if !ok {
		return nil
	}
	v := &e.vols[id]
	metres := q.metresTo(v)
	if !q.remote && metres > q.maxMetres {
		return nil
	}
	if ok, _, _, _ := e.check(q, id, metres); !ok {
		return nil
	}
	return []Candidate{e.score(q, id, metres, false)}
}

// oneVolunteerPerDoor sends each same-door group (sameDoorGroups) one
// volunteer: the one already going to that door (Accompany), or else the
// one the plan gave the group's most urgent covered request. Its other
// requests go to that volunteer too, if the rules, their spare capacity
// after this plan, and their jobs at that time let them take them;
// otherwise they wait, and are counted. final, scores and revs are each
// request's engine id (or -1), score and the volunteer's record judged,
// changed in place; waiting says
// which requests wait for their door's volunteer. Callers hold the read
// lock.
func (e *Engine) oneVolunteerPerDoor(dp *dispatchProblem, reqs []DispatchRequest, final []int64, scores []float64, revs []uint64, now time.Time) (waiting []bool) {
	waiting = make([]bool, len(reqs))
	members := map[int][]int{}
	for i, g := range dp.group {
		if g >= 0 {
			members[g] = append(members[g], i)
		}
	}
	if len(members) == 0 {
		return waiting
	}
	planned := map[int64]int32{}
	for _, id := range final {
		if id >= 0 {
			planned[id]++
		}
	}
	given := slices.Clone(final) // what the solution gave each request
	groups := slices.Sorted(maps.Keys(members))
	for _, g := range groups {
		is := members[g]
		slices.SortStableFunc(is, func(x, y int) int {
			return cmp.Compare(urgencyRank(reqs[y].Request.GetUrgency()), urgencyRank(reqs[x].Request.GetUrgency()))
		})
		// The volunteer already coming fixes the door's; one the engine
		// does not hold (left out of matching) fixes it to nobody.
		door, coming := int64(-1), ""
		for _, i := range is {
			if coming = reqs[i].Accompany; coming != "" {
				if id, ok := e.ids.find(e, coming); ok {
					door = int64(id)
				}
				break
			}
		}
		for _, i := range is {
			if coming == "" && door < 0 && final[i] >= 0 {
				door = final[i]
			}
		}
		if door < 0 && coming == "" {
			continue // nobody is going: they wait as any uncovered request
		}
		for _, i := range is {
			if door >= 0 && final[i] == door {
				continue
			}
			if final[i] >= 0 {
				planned[final[i]]--
				final[i] = -1
			}
			// A request with another volunteer coming (a second visit of
			// theirs at that door) never moves: it waits for them.
			other := reqs[i].Crowded || reqs[i].Accompany != "" && reqs[i].Accompany != coming
			score, ok := 0.0, false
			if door >= 0 && !other {
				score, ok = e.joins(dp, reqs[i], i, uint32(door), final, planned[door], now)
			}
			if ok {
				final[i], scores[i], revs[i] = door, score, e.vols[door].rev
				planned[door]++
			} else {
				// Held back, if anyone else could have taken it.
				waiting[i] = dp.nfound[i] > 0 || reqs[i].Accompany != "" || reqs[i].Crowded
			}
		}
		// A group is joined through windows that meet one another, not
		// all at one time. A request whose own window meets no visit (none
		// coming then, none planned) but only requests left waiting, each
		// less urgent, keeps the volunteer the solution gave it, the most
		// urgent first: held back for a door volunteer who cannot take
		// it, a critical morning request waited all day for an evening's
		// visit it never meets, with a neighbour free, for the sake of a
		// normal afternoon one that nobody took either. Those it meets
		// then wait for a coordinator (they meet two visits); between
		// requests of one urgency the door's volunteer is still waited for.
		for _, i := range is {
			if !waiting[i] || given[i] < 0 || reqs[i].Accompany != "" || reqs[i].Crowded {
				continue
			}
			rank := urgencyRank(reqs[i].Request.GetUrgency())
			if slices.ContainsFunc(is, func(j int) bool {
				if j == i || !windowsMeet(reqs[i].Request, reqs[j].Request) {
					return false
				}
				if final[j] >= 0 {
					return final[j] != given[i]
				}
				return waiting[j] && urgencyRank(reqs[j].Request.GetUrgency()) >= rank
			}) {
				continue
			}
			final[i], waiting[i] = given[i], false
			planned[given[i]]++
		}
	}
	return waiting
}

// windowsMeet says whether two requests' windows overlap.
func windowsMeet(a, b *pb.HelpRequest) bool {
	wa, wb := a.GetWindow(), b.GetWindow()
	return wa != nil && wb != nil &&
		wa.GetStartTime().AsTime().Before(wb.GetEndTime().AsTime()) && wb.GetStartTime().AsTime().Before(wa.GetEndTime().AsTime())
}

// joins says whether volunteer id can take request i too, beside the
// plan's other requests for them (final), planned in all, and with what
// score.
func (e *Engine) joins(dp *dispatchProblem, r DispatchRequest, i int, id uint32, final []int64, planned int32, now time.Time) (float64, bool) {
	v := &e.vols[id]
	if planned >= v.capacity-v.active-v.pending {
		return 0, false
	}
	q, err := e.prepare(r.Request, r.PreviousHelpers, now)
	if err != nil {
		return 0, false
	}
	metres := q.metresTo(v)
	if ok, _, _, _ := e.check(q, id, metres); !ok || !q.remote && metres > q.maxMetres {
		return 0, false
	}
	if q.fixed {
		var cs []commitment
		for k, f := range final {
			if f == int64(id) && k != i && dp.jobs[k].fixed {
				cs = append(cs, commitment{place: dp.jobs[k].place, job: dp.jobs[k].job})
			}
		}
		cs = append(cs, e.extraOf(id).commitments...) // all: one job can push another
		if len(cs) > 0 && !fits(rounds(now.Unix(), append(cs, commitment{q.name, q.place, q.job}))) {
			return 0, false
		}
	}
	return e.score(q, id, metres, false).Score, true
}
