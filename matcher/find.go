package matcher

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// FindCandidates ranks up to k eligible volunteers for r, best first.
// previousHelpers names volunteers who helped the same requester before.
// When fewer than k are eligible, the result also counts, by rule, the
// volunteers within the request's reach who were excluded.
func (e *Engine) FindCandidates(r *pb.HelpRequest, previousHelpers []string, k int, now time.Time) (Result, error) {
	e.rlock()
	defer e.mu.RUnlock()
	// The search's working slices grow as it widens and take in the bonus
	// holders, several times the page it returns: they are borrowed from
	// a pool, and the page stays in them until the caller is done with it
	// (Result.Release). The query and the tally are the buffer's too:
	// each escaped to the heap, an allocation apiece a call.
	buf := findBufs.Get().(*searchBuf)
	buf.lent.Store(true)
	q := &buf.q
	if err := e.prepareInto(q, r, previousHelpers, now); err != nil {
		putFindBuf(buf)
		return Result{}, err
	}
	// Most requests find k, and nobody asks why not: the search counts
	// nothing, unless it gives up and sweeps everyone in reach instead
	// (see search), which counts as it goes. One that finds fewer without
	// giving up has seen everyone eligible in reach, and a sweep that only
	// counts (countExclusions) costs less than counting ring by ring would.
	t := &buf.tally
	*t = tally{}
	t.init(q)
	cands, counted := e.search(q, k, true, buf, t)
	res := Result{Candidates: cands, Short: len(cands) < k, buf: buf}
	if !q.remote {
		res.Reach = q.maxMetres
	}
	if res.Short && !q.remote && q.farMetres > q.maxMetres {
		res.reachNote = ", as far as its " + q.reachWords()
	}
	switch {
	case len(cands) >= k:
	case counted:
		res.Exclusions = t.exclusions(q)
	default:
		res.Exclusions = e.countExclusions(q)
	}
	return res, nil
}

// tally counts exclusions by rule and detail during a search.
type tally struct {
	n     [numReasons]int
	skill []int  // missing skills, by index in the query's skillNames
	few   [4]int // skill's room for a request naming few, as most do
}

func newTally(q *query) *tally {
	t := &tally{}
	t.init(q)
	return t
}

func (t *tally) init(q *query) {
	if len(q.skillNames) <= len(t.few) {
		t.skill = t.few[:len(q.skillNames)]
	} else {
		t.skill = make([]int, len(q.skillNames))
	}
}

func (t *tally) add(why reasonCode, det int32) {
	if why == rMissingSkill {
		t.skill[det]++
	} else {
		t.n[why]++
	}
}

func (t *tally) exclusions(q *query) []Exclusion {
	var out []Exclusion
	for why, n := range t.n {
		if n > 0 {
			out = append(out, Exclusion{Reason: reasonOfCode[why], Detail: q.detail(reasonCode(why), 0), Count: n})
		}
	}
	for i, n := range t.skill {
		if n > 0 {
			out = append(out, Exclusion{Reason: MissingSkill, Detail: q.skillNames[i], Count: n})
		}
	}
	if out == nil {
		out = []Exclusion{}
	}
	sortExclusions(out)
	return out
}

// remotePool is how many of the nearest eligible volunteers a remote
// request's candidates are ranked from.
const remotePool = 50

// search returns up to k eligible candidates ranked by score.
//
// A volunteer's score is at least its distance unless it earns a bonus
// (same street, same postcode unit, helped before). Everyone is found
// nearest first, and the search widens until the k-th best score is no
// worse than the distance of the farthest volunteer seen, beyond which
// nobody without a bonus can do better. Those with a bonus are looked up
// directly (bonusCandidates), once the first k found bound the score they
// must beat: a street can hold hundreds, most of them too far along it to
// matter, and those are then turned away by their distance alone.
// buf, if not nil, lends its slices, so that many searches in a row (a
// dispatch) need not allocate them afresh; the result then lives in buf.
// Blocks where nobody can be eligible are passed over unread
// (query.hopeless).
//
// With a tally t (a request with a reach), a search that reads
// searchBudget points (or a quarter or half of them, with fewer found)
// and still has fewer than k gives up: most that do
// would read everyone in reach and find fewer than k, and then need them
// counted. It sweeps everyone in reach instead (Engine.sweep), which
// finds the same neighbours and counts the rest into t as it goes;
// counted reports that it did. It gives up at once, before reading a
// point, where it would find nobody (gridSearch.nobodyNear).
func (e *Engine) search(q *query, k int, explain bool, buf *searchBuf, t *tally) (cands []Candidate, counted bool) {
	if k <= 0 {
		return nil, false
	}
	want := k
	if q.remote {
		// A remote request's scores have no distance in them: ranking
		// only the k nearest would make the best depend on how many were
		// asked for. It ranks a fixed pool of the nearest instead.
		want = max(k, remotePool)
	} else {
		want += e.fairnessMargin(k)
	}
	// short is what the budget's give-up is judged against (see
	// gridSearch.short): the k+1 a search once asked for first, whatever
	// it asks for now, so that which searches sweep is as it was.
	short := k + 1
	retried := false
	var ns []Neighbour
	var out, bonus []Candidate
	if buf != nil {
		ns, out, bonus = buf.ns[:0], buf.out[:0], buf.bonus[:0]
	}
	bonusDone := false
	budget := 0
	if t != nil && !q.remote {
		budget = searchBudget
	}
	var swept []Neighbour // with counted: everyone eligible in reach
	sorted := 0           // how many of swept are nearest first (nearestFirst)
	if buf != nil {
		swept = buf.swept[:0]
	}
	// One more than wanted, to see whether the want nearest are one set:
	// when the next lies as near as the last of them, which of those tied
	// the grid returns goes by the engine's ids, which a deletion or a
	// restart deals out again. Volunteers who gave only a postcode all
	// live at its centre, and tie. The search then looks further, until
	// the boundary falls between two distances.
	fetch := want + 1
	for {
		ns = slices.Grow(ns[:0], fetch)
		if !counted {
			var complete bool
			ns, complete = e.grid.nearestTagged(ns, q.lat, q.lng, fetch, q.maxMetres, q, budget, short)
			if !complete {
				swept, counted = e.sweep(q, t, true, swept), true
			}
		}
		if counted {
			sorted = nearestFirst(swept, sorted, fetch)
			ns = append(ns, swept[:min(fetch, len(swept))]...)
		}
		if searchRound != nil {
			searchRound(len(ns))
		}
		more := len(ns) > want // someone eligible lies beyond the want nearest
		if more && ns[want].Metres == ns[want-1].Metres {
			if q.remote {
				// The pool is the want nearest: how far past the tie it
				// reaches decides the candidates, so it doubles, as it
				// always has.
				want *= 2
				fetch = want + 1
				continue
			}
			// Elsewhere the page is the best k of everyone eligible (see
			// the loop's end), whatever the pool, so the pool need only
			// take in the rest of the tie: the first boundary past it,
			// among those looked at, will do. Doubling instead landed in
			// tie after tie where a crowd lives at a few points, and
			// scored and sorted hundreds for a page of 20.
			w := want + 1
			for w < len(ns) && ns[w].Metres == ns[want].Metres {
				w++
			}
			if w == len(ns) && len(ns) == fetch {
				fetch *= 2 // the tie may go on past those looked at
				continue
			}
			want, more = w, len(ns) > w
		}
		ns = ns[:min(len(ns), want)]
		e.touchRecords(ns, explain)
		if need := len(ns) + len(bonus); need > cap(out) && need > maxPooledCandidates && buf != nil && buf.lent.Load() {
			out = buf.wideOut(out, need)
		}
		out = slices.Grow(out[:0], len(ns)+len(bonus))
		for _, n := range ns {
			out = append(out, e.score(q, n.ID, n.Metres, explain))
		}
		sortCandidates(out)
		if !bonusDone {
			// Adding candidates only lowers the k-th best score, so the
			// k-th found so far bounds what a bonus holder must beat.
			bound := math.Inf(1)
			if len(out) >= k {
				bound = out[k-1].Score
			}
			bonus, bonusDone = e.bonusCandidates(bonus, buf, q, bound, explain), true
		}
		if n := len(out); len(bonus) > 0 {
			for _, c := range bonus {
				if !slices.ContainsFunc(ns, func(nb Neighbour) bool { return nb.ID == c.id }) {
					out = append(out, c)
				}
			}
			if len(out) > n {
				sortCandidates(out)
			}
		}
		if !more || q.remote {
			break // everyone eligible in reach was seen
		}
		far := ns[len(ns)-1].Metres
		if len(out) >= k && out[k-1].Score <= far {
			break
		}
		// Each round searches afresh from the request's point, so
		// doubling read twice what most needed: one of the nearest with a
		// recent assignment, scored past the farthest seen, wants about
		// one more neighbour. The first retry grows by how many of the k
		// best score past the farthest seen, and one more; later ones
		// double, so that a search is a few rounds at most.
		if retried {
			want *= 2
		} else {
			past := 0
			for _, c := range out[:min(k, len(out))] {
				if c.Score > far {
					past++
				}
			}
			want += past + 1
			retried = true
		}
		fetch = want + 1
	}
	if buf != nil {
		buf.ns, buf.out, buf.bonus = ns, out, bonus
		if cap(swept) > cap(buf.swept) {
			buf.swept = swept
		}
	}
	if len(out) > k {
		out = out[:k]
	}
	return out, counted
}

// fairnessMargin is how many more than k the first round of a search
// for k ranks, besides the one more it reads (see search): how many of
// the k nearest carry a recent assignment, as the engine's share of them
// has it, and one more. Such a volunteer's score is FairnessMetres past
// their distance, and often past the farthest of the k+1 nearest, which
// made the search look again: with seven volunteers in a hundred
// carrying one, 61% of searches for 20 did, and read 46 neighbours where
// 21 or 22 were enough. Ranking 23 at first, 4% look again and a search
// reads 24 (BenchmarkFindCandidates' data); ranking 22, 12% and 25. It
// is 0 where nobody carries one, and such an engine searches as it did.
func (e *Engine) fairnessMargin(k int) int {
	live := e.ids.len()
	if e.recentVols == 0 || live == 0 || !(e.cfg.FairnessMetres > 0) {
		return 0
	}
	return int(math.Ceil(float64(k)*float64(e.recentVols)/float64(live))) + 1
}

// metresTo is how far v lives from q, from their home as the grid stores
// it: a volunteer the search lists a centimetre inside a limit must not be
// refused an offer, nor accepted one the search left out, for lying a
// centimetre beyond it as given.
func (q *query) metresTo(v *volunteer) float64 {
	return ApproxMetres(q.lat, q.lng, gridStored(v.lat), gridStored(v.lng))
}

// bonusCandidates appends to dst the eligible volunteers who may earn a
// bonus for q (bonusHolders) and whose score may be no worse than bound:
// the score of one at metres is at least metres less the bonuses they
// earn, as the fairness term only adds (when its weight is not negative).
// The distance is worked out from each record (read already, to walk the
// lists) before any rule is judged, so that those too far away cost a
// distance apiece and no more; it is
// from the home as the grid stores it, so that a volunteer is the same
// distance away however the search came to them.
func (e *Engine) bonusCandidates(dst []Candidate, buf *searchBuf, q *query, bound float64, explain bool) []Candidate {
	var ids []uint32
	if buf != nil { // nil: the search has no buffer (see search)
		ids = buf.holders[:0]
	}
	ids = e.bonusHolders(ids, q)
	if buf != nil {
		buf.holders = ids
	}
	if len(ids) == 0 {
		return dst
	}
	floor := e.cfg.FairnessMetres >= 0
	for _, id := range ids {
		v := &e.vols[id]
		metres := q.metresTo(v)
		if !q.remote && metres > q.maxMetres {
			continue
		}
		if floor {
			p, _, _, _ := e.baseParts(q, v, metres)
			if p.Distance+p.SameStreet+p.SamePostcode+p.Continuity > bound {
				continue
			}
		}
		if ok, _, _, _ := e.check(q, id, metres); ok {
			dst = append(dst, e.score(q, id, metres, explain))
		}
	}
	return dst
}

// searchRound, if not nil, is told how many neighbours each round of a
// search read (a variable so that tests can count them).
var searchRound func(read int)

// searchBudget is how many points a counting search reads before it
// last asks whether to give up and sweep; it asks first at a quarter of
// it, and at half (see search, gridSearch.budget and likelyShort). Most
// searches find k within a hundred or two; one that has read this many
// without finding k, and whose finds so far promise fewer than k in all
// its reach, would likely read everyone in reach, ring by ring, only to
// have a sweep read them again. (A variable so that tests can make every
// search give up.)
var searchBudget = 200

// touchRecords reads each neighbour's record, and a word of its weekly
// slots if the score will name one, before any is scored: their loads do
// not depend on each other, so the cache misses overlap (Go has no
// prefetch), where scoring one after another would wait for each in turn.
// A record is 80 bytes and scoring reads its first 40, which span two
// cache lines for half the records: their first and last words are read.
func (e *Engine) touchRecords(ns []Neighbour, slots bool) {
	var sink uint32
	for _, n := range ns {
		v := &e.vols[n.ID]
		sink += v.text + uint32(math.Float64bits(v.lng))
	}
	if slots {
		for _, n := range ns {
			if off := e.vols[n.ID].slotOff; int(off) < len(e.slots) {
				sink += uint32(e.slots[off].day())
			}
		}
	}
	runtime.KeepAlive(sink) // the loads are the point
}

// warmRecords reads, for each id, its packed record, and a word of its
// side record and away dates where it has them, as the rules would read
// them: in turn, each load waits for the one before; level by level
// across a batch, the loads of a level do not depend on each other, so
// their cache misses overlap (Go has no prefetch).
//
// The packed record is read at both ends: at 48 bytes, half of them
// straddle two cache lines, and the rules read both (maxMetres first,
// flags last). Reading flags alone left the other line to miss in turn,
// one record after another, as the rules came to it.
func (e *Engine) warmRecords(ids []uint32) {
	var sink uint32
	for _, id := range ids {
		h := &e.hot[id]
		sink += uint32(h.flags) + math.Float32bits(h.maxMetres)
	}
	var side [64]*volExtra
	n := 0
	for _, id := range ids {
		// Not the side record of one whose away dates the packed record
		// holds (hotSpan), unless it holds jobs the rules will read.
		if f := e.hot[id].flags; f&hotExtra != 0 && f&(hotSpan|hotBusy) != hotSpan && n < len(side) {
			side[n] = e.extra[id]
			n++
		}
	}
	for _, x := range side[:n] {
		if x != nil && len(x.away) > 0 {
			sink += uint32(x.away[0][0])
		}
	}
	runtime.KeepAlive(sink) // the loads are the point
}

// searchBuf holds a search's working slices for the next.
type searchBuf struct {
	ns         []Neighbour
	out, bonus []Candidate
	// small is out as it was before this search widened past
	// maxPooledCandidates and took a list from wideCands: the buffer
	// gets it back on release, and the wide list goes back to wideCands.
	small []Candidate
	// swept is a sweep's: one in forty FindCandidates calls of the server
	// benchmark sweeps, collecting thousands, and growing that list
	// afresh each time was a fifth of the server's bytes allocated.
	swept []Neighbour
	// holders is bonusCandidates' list of bonus holders: made afresh, it
	// was two of a FindCandidates call's allocations.
	holders []uint32
	q       query // FindCandidates'
	tally   tally // FindCandidates'
	// lent is set while a Result holds the buffer: a copy of the Result
	// released as well as the original would otherwise put it in the pool
	// twice, and two later searches would share it.
	lent atomic.Bool
}

// findBufs lends FindCandidates its search's working slices.
var findBufs = sync.Pool{New: func() any { return new(searchBuf) }}

// maxPooledCandidates bounds the slices findBufs keeps: a rare search
// that widened far (many tied at one distance, a large page) would
// otherwise pin what it grew to for good.
const maxPooledCandidates = 512

// wideCands keeps the candidate lists of searches that widened past
// maxPooledCandidates (a *[]Candidate each), apart from findBufs: about
// one FindCandidates call in seventy of the server benchmark widens to
// 640 neighbours, and each made a list of 665 candidates (106 KB) that
// its buffer then let go, regrowing a small one over the next searches;
// 1.5 KB a call. Kept in every pooled buffer, such lists would hold
// 106 KB for each of the calls ever in flight at once; here the pool
// holds no more of them than there were wide searches at once, which are
// rare, and lets them go with the rest of the pool when they go unused.
var wideCands sync.Pool

// maxWideCands bounds the lists wideCands keeps (640 KB): a search that
// widened further is let go, as before.
const maxWideCands = 4096

// wideOut returns an empty list of at least need candidates for a search
// on buf that widened past maxPooledCandidates, from wideCands if it
// holds one large enough, and keeps out, the buffer's own, for release.
func (buf *searchBuf) wideOut(out []Candidate, need int) []Candidate {
	if buf.small == nil && cap(out) <= maxPooledCandidates {
		buf.small = out[:0]
	}
	if p, _ := wideCands.Get().(*[]Candidate); p != nil {
		if cap(*p) >= need {
			return (*p)[:0]
		}
		wideCands.Put(p)
	}
	return make([]Candidate, 0, need)
}

// maxPooledSwept bounds the sweep's list findBufs keeps (128 KiB): enough
// for the thousands eligible around a city centre.
const maxPooledSwept = 8192

// putFindBuf gives buf back to findBufs. The candidates it held are
// cleared first: they name volunteers, and one since deleted or erased
// must not linger in a pooled buffer until its slot is reused.
func putFindBuf(buf *searchBuf) {
	if !buf.lent.CompareAndSwap(true, false) {
		return // released already, through another copy of its Result
	}
	// A slice grown too far is let go alone: the sweep's list, grown by
	// one of the searches that sweep, is most often wanted by the next.
	if cap(buf.out) > maxPooledCandidates {
		// A wide search's list goes back to wideCands (see there), and
		// the buffer keeps the list it had before.
		if cap(buf.out) <= maxWideCands {
			clear(buf.out[:cap(buf.out)])
			wide := buf.out[:0]
			wideCands.Put(&wide)
		}
		buf.out, buf.small = buf.small, nil
	}
	if cap(buf.bonus) > maxPooledCandidates {
		buf.bonus = nil
	}
	if cap(buf.ns) > 2*maxPooledCandidates {
		buf.ns = nil
	}
	if cap(buf.swept) > maxPooledSwept {
		buf.swept = nil
	}
	if cap(buf.holders) > maxPooledCandidates {
		buf.holders = nil
	}
	clear(buf.out[:cap(buf.out)])
	clear(buf.bonus[:cap(buf.bonus)])
	buf.ns, buf.out, buf.bonus, buf.swept, buf.holders = buf.ns[:0], buf.out[:0], buf.bonus[:0], buf.swept[:0], buf.holders[:0]
	buf.q = query{} // it names the request's previous helpers
	findBufs.Put(buf)
}

// bonusHolders appends to ids the volunteers who may earn a bonus for q:
// those on its street, in its postcode unit, and those who helped its
// requester before.
func (e *Engine) bonusHolders(ids []uint32, q *query) []uint32 {
	if q.streetID != 0 {
		ids = e.listOf(ids, e.streets.head[q.streetID], 2)
	}
	if pc := q.postcodeID; pc != math.MaxUint32 {
		ids = e.listOf(ids, e.postcodes.head[pc], 0)
	}
	for _, name := range q.previous {
		if id, ok := e.ids.find(e, name); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// baseParts are v's score parts for q but fairness, the one part that
// needs the side record: score adds it, and bonusCandidates bounds a score
// by the rest before reading anything more.
func (e *Engine) baseParts(q *query, v *volunteer, metres float64) (p Parts, sameStreet, samePostcode, helped bool) {
	// Street names repeat from town to town and village to village; the
	// same name counts as the same street only within one postcode sector
	// (streetIndexKey).
	sameStreet = q.streetID != 0 && q.streetID == v.street
	samePostcode = q.postcode != "" && q.postcodeID == v.postcode
	if len(q.previous) > 0 {
		name, _ := e.textOf(v)
		helped = slices.Contains(q.previous, name)
	}
	if !q.remote {
		p.Distance = metres
	}
	if sameStreet {
		p.SameStreet = -e.cfg.SameStreetMetres
	}
	if samePostcode {
		p.SamePostcode = -e.cfg.SamePostcodeMetres
	}
	if helped {
		p.Continuity = -e.cfg.ContinuityMetres
	}
	return p, sameStreet, samePostcode, helped
}

// streetIndexKey names a street within its postcode sector, so that the
// same name in two towns is two streets. Not the district: a rural one
// (LE15, Rutland) holds a town and forty villages, most with a Main Street
// of their own, and two jobs on "Main Street" there would be one round for
// a volunteer to do in one visit, 7 km apart. The sector's length leads,
// so no two pairs give the same key.
func streetIndexKey(streetKey, postcode string) string {
	d := sector(postcode)
	return strconv.Itoa(len(d)) + ":" + d + "|" + streetKey
}

func sortCandidates(c []Candidate) {
	// Found nearest first, candidates are most often in order already, or
	// nearly: a bonus moves its holder a few places up. Insertion then
	// costs little more than the check, where a general sort would copy
	// the (large) candidates about; it is kept for input far from order.
	// As names are unique the order is total, so a sorted slice is the one
	// answer either way.
	descents := 0
	for i := 1; i < len(c); i++ {
		if candidateLess(&c[i], &c[i-1]) {
			descents++
		}
	}
	switch {
	case descents == 0:
	case descents <= 8:
		for i := 1; i < len(c); i++ {
			if !candidateLess(&c[i], &c[i-1]) {
				continue
			}
			x := c[i]
			j := i - 1
			for j > 0 && candidateLess(&x, &c[j-1]) {
				j--
			}
			copy(c[j+1:i+1], c[j:i])
			c[j] = x
		}
	default:
		sortCandidatesByIndex(c)
	}
}

// sortCandidatesByIndex sorts c as slices.SortFunc(c, compareCandidates)
// would, but sorts their indexes: a Candidate is some 180 bytes, with
// pointers, and a general sort passing and swapping them by value spent
// more on copying than on comparing. Each candidate is then moved once,
// cycle by cycle, to its place.
func sortCandidatesByIndex(c []Candidate) {
	var idxBuf [128]int32
	idx := idxBuf[:0]
	if len(c) > len(idxBuf) {
		idx = make([]int32, 0, len(c))
	}
	for i := range c {
		idx = append(idx, int32(i))
	}
	slices.SortFunc(idx, func(i, j int32) int { return compareCandidatesAt(&c[i], &c[j]) })
	// c[i] is to hold what is now at c[idx[i]]. Follow each cycle of the
	// permutation with one candidate in hand, marking places done.
	for start := range idx {
		if idx[start] < 0 || int(idx[start]) == start {
			continue
		}
		x := c[start]
		i := start
		for {
			from := int(idx[i])
			idx[i] = -1
			if from == start {
				c[i] = x
				break
			}
			c[i] = c[from]
			i = from
		}
	}
}

// candidateLess is compareCandidates(*a, *b) < 0, without copying them.
// Equal scores go to the nearer: a remote request's scores have no
// distance in them, and by name alone (ids in order of registration) the
// earliest to sign up would ring every befriending call. Then by name,
// which is unique, so the order is total.
func candidateLess(a, b *Candidate) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	if a.Metres != b.Metres {
		return a.Metres < b.Metres
	}
	return a.Volunteer < b.Volunteer
}

func compareCandidates(a, b Candidate) int { return compareCandidatesAt(&a, &b) }

// compareCandidatesAt is compareCandidates without copying the candidates,
// and comparing names only between candidates tied on score and distance
// (cmp.Or would have compared them every time).
func compareCandidatesAt(a, b *Candidate) int {
	if c := cmp.Compare(a.Score, b.Score); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Metres, b.Metres); c != 0 {
		return c
	}
	return strings.Compare(a.Volunteer, b.Volunteer)
}

// score ranks an eligible volunteer; see the package doc.
func (e *Engine) score(q *query, id uint32, metres float64, explain bool) Candidate {
	v := &e.vols[id]
	name, shown := e.textOf(v)
	c := Candidate{id: id, Volunteer: name, DisplayName: shown, Metres: metres, skills: q.skillNames}
	if explain {
		h := &e.hot[id]
		loc, until := h.loc, int32(math.MaxInt32)
		if q.minVetting > pb.Vetting_DBS_LEVEL_NONE {
			until = h.vettingUntil // a slot the check still covers (see check)
		}
		_, _, c.slot = e.availability(id, &q.window, loc, until) // the slot to name
		if z := e.locList[loc]; z.String() != defaultZone {
			c.zone = z
		}
	}
	c.Parts, c.SameStreet, c.SamePostcode, c.helped = e.baseParts(q, v, metres)
	since := q.now.Add(-e.cfg.FairnessWindow)
	for _, t := range e.extraOf(id).recent {
		// A job stamped after now was taken while the clock ran ahead
		// (put right since): counted, it would weigh on the volunteer
		// until the clock caught up with it, a year perhaps.
		if t.After(since) && !t.After(q.now) {
			c.recentCount++
		}
	}
	c.recentHours = int32(e.cfg.FairnessWindow / time.Hour)
	// The conversion rounds the product here, as the part shown is: left
	// to fuse with the sum below (arm64 does), the score would differ from
	// the sum of its parts, and from an amd64 server's, in the last bit.
	c.Parts.Fairness = float64(float64(c.recentCount) * e.cfg.FairnessMetres)
	c.Score = c.Parts.Distance + c.Parts.SameStreet + c.Parts.SamePostcode + c.Parts.Fairness + c.Parts.Continuity
	return c
}

// exclusions counts, by the first rule failed, the volunteers within the
// request's reach who are not eligible.
func (e *Engine) exclusions(q *query) []Exclusion {
	t := newTally(q)
	radius := q.maxMetres
	if math.IsInf(radius, 1) {
		radius = 50000 // a remote request: count those within a city's reach
	}
	e.grid.Within(q.lat, q.lng, radius, func(id uint32, metres float64) bool {
		if ok, why, det, _ := e.check(q, id, metres); !ok {
			t.add(why, det)
		}
		return true
	})
	return t.exclusions(q)
}

var reasonOrder = map[Reason]int{TooFar: 0, Paused: 1, DeclinedBefore: 2, AtCapacity: 3, MissingSkill: 4, Vetting: 5, Away: 6, NotAvailable: 7, Busy: 8}

// SortExclusions puts ex in the order a Result holds them (sortExclusions),
// for counts changed after the search (server.uncount).
func SortExclusions(ex []Exclusion) { sortExclusions(ex) }

// sortExclusions puts the most common first, then by rule order and detail.
func sortExclusions(out []Exclusion) {
	order := reasonOrder
	slices.SortFunc(out, func(a, b Exclusion) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if order[a.Reason] != order[b.Reason] {
			return order[a.Reason] - order[b.Reason]
		}
		return strings.Compare(a.Detail, b.Detail)
	})
}

var weekdayShort = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// Explain is the candidate as a sentence for helpline staff, for example
// "0.3 km, same street, has driver, free Tue 10:00-12:00".
//
// It is built in one buffer on the stack, without fmt: the server explains
// every candidate it returns, and formatting showed up in a call's
// profile.
func (c Candidate) Explain() string {
	var buf [128]byte
	return string(c.AppendExplain(buf[:0]))
}

// AppendExplain appends Explain's sentence to b: a page of candidates can
// then share one string for all its sentences, one allocation where each
// sentence of its own would cost one apiece.
func (c Candidate) AppendExplain(b []byte) []byte {
	switch {
	case c.Metres >= 0 && c.Metres < 5:
		// Postcode centres are tens of metres apart: "0 m" would claim too much.
		b = append(b, "under 10 m"...)
	case c.Metres < 995: // from 995 m it rounds to a kilometre
		b = strconv.AppendInt(b, int64(int(math.Round(c.Metres/10)*10)), 10)
		b = append(b, " m"...)
	default:
		b = strconv.AppendFloat(b, c.Metres/1000, 'f', 1, 64) // as %.1f
		b = append(b, " km"...)
	}
	switch {
	case c.SameStreet:
		b = append(b, ", same street"...)
	case c.SamePostcode:
		b = append(b, ", same postcode"...)
	}
	if len(c.skills) > 0 {
		b = append(b, ", has "...)
		for i, s := range c.skills {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, s...)
		}
	}
	if c.slot.to > 0 {
		b = append(b, ", free "...)
		b = append(b, weekdayShort[c.slot.day]...)
		b = append(b, ' ')
		b = append2d(b, int(c.slot.from/60))
		b = append(b, ':')
		b = append2d(b, int(c.slot.from%60))
		b = append(b, '-')
		b = append2d(b, int(c.slot.to/60))
		b = append(b, ':')
		b = append2d(b, int(c.slot.to%60))
		if c.zone != nil {
			// Their hours are in their own zone: say which, or the helpline
			// reads a Tokyo volunteer's morning as a UK one.
			b = append(b, ' ')
			b = append(b, zoneWords(c.zone.String())...)
			b = append(b, " time"...)
		}
	}
	if c.helped {
		b = append(b, ", helped this person before"...)
	}
	if c.recentCount > 0 {
		b = append(b, ", "...)
		b = appendCount(b, int(c.recentCount), "job")
		b = appendWithin(b, int(c.recentHours))
	}
	return b
}

// appendCount appends "1 job" or "3 jobs".
func appendCount(b []byte, n int, noun string) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, noun...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

// appendWithin appends the fairness window as the sentence says it: " in
// the last 7 days" for the default, or "... 12 hours". Not "this week",
// which a caller told on a Monday takes to mean since that morning.
func appendWithin(b []byte, hours int) []byte {
	switch {
	case hours == 24:
		return append(b, " in the last day"...)
	case hours == 1:
		return append(b, " in the last hour"...)
	}
	b = append(b, " in the last "...)
	if hours%24 == 0 {
		return appendCount(b, hours/24, "day")
	}
	return appendCount(b, hours, "hour")
}

// append2d appends v as %02d would.
func append2d(b []byte, v int) []byte {
	if v >= 0 && v < 10 {
		return append(b, '0', byte('0'+v))
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// Summary says why the search found no more: the exclusions (Summary), or,
// when nobody in reach was left out, that nobody else lives that near. It
// is empty when the search found all it was asked for.
func (r Result) Summary() string {
	switch {
	case !r.Short:
		return ""
	case len(r.Exclusions) > 0:
		return Summary(r.Exclusions)
	case r.Reach == 0 && len(r.Candidates) == 0 && !r.Holder:
		return "no volunteer is registered who could help"
	case r.Reach == 0:
		return "there is nobody else"
	case len(r.Candidates) == 0 && !r.Holder:
		return "no volunteer lives within " + distanceWords(r.Reach) + r.reachNote
	default:
		return "nobody else lives within " + distanceWords(r.Reach) + r.reachNote
	}
}

// reachWords says which of q's needs hold it to its reach, and how far
// the farthest reaching would go: "prescription collection reaches
// (transport reaches 8 km)", "grocery shopping and prescription collection
// reach (...)". Staff who know that lifts reach 8 km, told only that nobody
// lives within 1.5 km, cannot see that the prescription taken down with the
// lift is what keeps its drivers out; told of one need of two that hold it
// there, they take that one out and find it held there all the same.
func (q *query) reachWords() string {
	var names []string
	for n := pb.Need(0); n < 64; n++ {
		if q.reachNeeds&needBit(n) != 0 {
			names = append(names, needWords(n))
		}
	}
	one := q.reachNeeds&(q.reachNeeds-1) == 0 && q.reachNeeds&needBit(pb.Need_NEED_ERRANDS) == 0
	return andList(names) + reachVerb(one) + " (" + needWords(q.farNeed) + reachVerb(q.farNeed != pb.Need_NEED_ERRANDS) + " " + distanceWords(q.farMetres) + ")"
}

// reachVerb agrees with one need or several ("errands" is several).
func reachVerb(one bool) string {
	if one {
		return " reaches"
	}
	return " reach"
}

// needBit is need n's bit in query.reachNeeds; 0 for a number past them,
// which the server's check of needs never lets in.
func needBit(n pb.Need) uint64 {
	if n < 0 || n >= 64 {
		return 0
	}
	return 1 << n
}

// andList joins words as said: "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// needWords is a need as staff say it: "prescription collection", and
// "other help", which "other" alone is not.
func needWords(n pb.Need) string {
	if n == pb.Need_NEED_OTHER {
		return "other help"
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(n.String(), "NEED_"), "_", " "))
}

// zoneWords names a time zone as staff would say it: the city of an
// area zone ("New York"), or the offset of a fixed one. The fixed zones'
// names follow POSIX, whose sign is the other way round: Etc/GMT+5 is
// five hours behind, UTC-5.
func zoneWords(name string) string {
	if off, ok := strings.CutPrefix(name, "Etc/GMT"); ok && len(off) > 1 && (off[0] == '+' || off[0] == '-') {
		sign := "-"
		if off[0] == '-' {
			sign = "+"
		}
		return "UTC" + sign + off[1:]
	}
	return strings.ReplaceAll(name[strings.LastIndexByte(name, '/')+1:], "_", " ")
}

// distanceWords is a distance or a limit as staff would say it: "800 m",
// "1.5 km", "8 km"; to 10 m, as Explain rounds.
func distanceWords(m float64) string {
	if m < 995 {
		return strconv.Itoa(int(math.Round(m/10)*10)) + " m"
	}
	return strconv.FormatFloat(math.Round(m/100)/10, 'f', -1, 64) + " km"
}

// Summary says why volunteers in reach were excluded, most common first:
// "4 nearby lack driver, 2 are away then". Like Explain, it is built in
// one buffer on the stack.
func Summary(ex []Exclusion) string {
	if len(ex) == 0 {
		return ""
	}
	var buf [256]byte
	b := buf[:0]
	for i, x := range ex {
		if i > 0 {
			b = append(b, ", "...)
		}
		n := x.Count
		verb := func(one, many string) string {
			if n == 1 {
				return one
			}
			return many
		}
		b = strconv.AppendInt(b, int64(n), 10)
		switch x.Reason {
		case TooFar:
			b = append(b, " nearby "...)
			b = append(b, verb("does", "do")...)
			b = append(b, " not go that far"...)
		case Paused:
			b = append(b, ' ')
			b = append(b, verb("has", "have")...)
			b = append(b, " paused or "...)
			b = append(b, verb("is", "are")...)
			b = append(b, " on hold"...)
		case DeclinedBefore:
			b = append(b, " declined, missed or handed back this request before"...)
		case AtCapacity:
			b = append(b, ' ')
			b = append(b, verb("is", "are")...)
			b = append(b, " fully booked"...)
		case MissingSkill:
			b = append(b, " nearby "...)
			b = append(b, verb("lacks", "lack")...)
			b = append(b, ' ')
			b = append(b, x.Detail...)
		case Vetting:
			b = append(b, ' ')
			b = append(b, verb("has", "have")...)
			b = append(b, " no "...)
			b = append(b, x.Detail...)
			// "valid then": the one whose check ran out, or runs out before
			// the day they could go, holds one, and a renewal mends it.
			b = append(b, " DBS check valid then"...)
		case Away:
			b = append(b, ' ')
			b = append(b, verb("is", "are")...)
			b = append(b, " away then"...)
		case NotAvailable:
			b = append(b, ' ')
			b = append(b, verb("is", "are")...)
			b = append(b, " not free then"...)
		case Busy:
			b = append(b, ' ')
			b = append(b, verb("is", "are")...)
			b = append(b, " helping someone else then"...)
		default:
			b = append(b, ": "...)
			b = append(b, x.Reason...)
		}
	}
	return string(b)
}

// sector is a normalised postcode's sector ("AB10 1" of "AB10 1AB"), or
// the postcode itself when it is a sector already, as a commitment's is
// (store keeps no more of where a job is), or only a district.
func sector(pc string) string {
	if i := strings.IndexByte(pc, ' '); i >= 0 && i+2 <= len(pc) {
		return pc[:i+2]
	}
	return pc
}

// Eligible checks one volunteer against r's rules, as FindCandidates would,
// for an offer a coordinator chose by hand.
func (e *Engine) Eligible(r *pb.HelpRequest, previousHelpers []string, volunteer string, now time.Time) (bool, Exclusion, error) {
	return e.eligible(r, previousHelpers, volunteer, now, false)
}

// StillEligible checks the volunteer who holds r's pending offer against
// r's rules, as Eligible would, except that the offer they hold does not
// count against their capacity: after r or the volunteer changed, it says
// whether the offer may stand.
func (e *Engine) StillEligible(r *pb.HelpRequest, previousHelpers []string, volunteer string, now time.Time) (bool, Exclusion, error) {
	return e.eligible(r, previousHelpers, volunteer, now, true)
}

// StillEligibleAsStored is StillEligible for volunteer v as given (a
// record just read with r, in one transaction) rather than as the index
// holds them, which a write just made may not have reached yet.
func (e *Engine) StillEligibleAsStored(r *pb.HelpRequest, v *pb.Volunteer, now time.Time) (bool, Exclusion, error) {
	one := NewEngine(e.cfg)
	if err := one.UpsertVolunteer(v); err != nil {
		// Left out of matching, as the index would leave them.
		return false, Exclusion{}, fmt.Errorf("%w: %w", ErrUnknownVolunteer, err)
	}
	return one.StillEligible(r, nil, v.Name, now)
}

func (e *Engine) eligible(r *pb.HelpRequest, previousHelpers []string, volunteer string, now time.Time, holding bool) (bool, Exclusion, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	id, ok := e.ids.find(e, volunteer)
	if !ok {
		return false, Exclusion{}, ErrUnknownVolunteer
	}
	q, err := e.prepare(r, previousHelpers, now)
	if err != nil {
		return false, Exclusion{}, err
	}
	if holding {
		q.holder = id + 1
	}
	metres := q.metresTo(&e.vols[id])
	if !q.remote && metres > q.maxMetres {
		what := "this request reaches"
		if q.farMetres > q.maxMetres {
			what = "this request's " + q.reachWords()
		}
		return false, Exclusion{Reason: TooFar, Detail: beyondWords(metres, q.maxMetres, what), Count: 1, OutOfReach: true}, nil
	}
	if ok, why, det, _ := e.check(q, id, metres); !ok {
		// A remote request has no reach, but its counts are of those
		// within remoteCountMetres: one farther off is in none of them.
		x := Exclusion{Reason: reasonOfCode[why], Detail: q.detail(why, det), Count: 1, OutOfReach: q.remote && metres > remoteCountMetres}
		if why == rTooFar {
			x.Detail = beyondWords(metres, float64(e.hot[id].maxMetres), "they travel")
		}
		return false, x, nil
	}
	return true, Exclusion{}, nil
}

// beyondWords is how far metres lies beyond limit, as Why says it after
// "they live": "2.1 km away, beyond the 1.5 km this request reaches". A
// distance that rounds as the limit does is "just beyond" it: "1.5 km
// away, beyond the 1.5 km" reads to a caller as a mistake.
func beyondWords(metres, limit float64, what string) string {
	l := distanceWords(limit)
	if d := distanceWords(metres); d != l {
		return d + " away, beyond the " + l + " " + what
	}
	return "just beyond the " + l + " " + what
}

// Why says why one volunteer cannot help, as Eligible found: "they live
// 2.1 km away, beyond the 1.5 km this request reaches", "they are fully
// booked". Summary is its counterpart for many.
func (x Exclusion) Why() string {
	switch x.Reason {
	case TooFar:
		if x.Detail == "" {
			return "they do not go that far"
		}
		return "they live " + x.Detail
	case Paused:
		return "they have paused or are on hold"
	case DeclinedBefore:
		return "they declined, missed or handed back this request before"
	case AtCapacity:
		return "they are fully booked"
	case MissingSkill:
		return "they lack " + x.Detail
	case Vetting:
		return "they have no " + x.Detail + " DBS check valid then"
	case Away:
		return "they are away then"
	case NotAvailable:
		return "they are not free then"
	case Busy:
		return "they are helping someone else then"
	}
	return string(x.Reason)
}

// ErrUnknownVolunteer is returned for a volunteer the engine does not hold.
var ErrUnknownVolunteer = errors.New("matcher: unknown volunteer")
