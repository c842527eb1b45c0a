package matcher

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
	q, err := e.prepare(r, previousHelpers, now)
	if err != nil {
		return Result{}, err
	}
	// The search counts why as it goes: a search that finds fewer than k
	// has read everyone in reach, and a second pass to count them would
	// cost as much again.
	var t tally
	t.init(q)
	cands := e.search(q, k, true, nil, &t)
	res := Result{Candidates: cands}
	switch {
	case len(cands) >= k:
	case q.remote:
		res.Exclusions = e.exclusions(q) // the search had no radius to cover
	default:
		res.Exclusions = t.exclusions(q)
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

func (t *tally) reset() {
	t.n = [numReasons]int{}
	clear(t.skill)
}

// exclusionCount is what a search that counts exclusions judges by.
type exclusionCount struct {
	e      *Engine
	q      *query
	t      *tally
	passed []*gridBlock // blocks the search passed over, to count if need be
}

// scanCounting is gridSearch.scan for nearestCounting. Until k are
// accepted it judges each point within maxMetres itself, by its tag where
// that settles it (most, and without a distance when the point is surely
// within both limits) and by the rules otherwise, counting those it turns
// away; after that, counts no longer matter and it offers points as scan
// does.
func (s *gridSearch) scanCounting(cell []gridEntry) {
	c := s.count
	q := c.q
	for i := range cell {
		e := &cell[i]
		plat := float64(e.lat) * gridDegreePerFixed
		plng := float64(e.lng) * gridDegreePerFixed
		dlat := plat - s.lat
		dlng := plng - s.lng
		xl := dlng * s.cosMin
		lo := dlat*dlat + xl*xl
		if lo > s.degSq {
			continue
		}
		open := len(s.res)-s.start < s.k
		judged := false // the tag's rules have been found undecided
		if open {
			// Surely within maxMetres, and then, while open, cosMin holds
			// for the point: lo bounds its distance from below as hi does
			// from above, which may settle the volunteer's own limit.
			xu := dlng * s.cosMax
			if hi := dlat*dlat + xu*xu; hi <= s.innerDegSq {
				cl := e.tag >> tagReachShift & 7
				switch {
				case q.remote || q.maxMetres <= tagReach[cl] || hi <= tagReachDegSq[cl]:
					decided, why, det := q.tagRules(e.id, e.tag)
					if decided {
						c.t.add(why, det)
						continue
					}
					judged = true
				case lo > tagBeyondDegSq[cl] && e.tag&tagReachExact != 0:
					c.t.add(rTooFar, 0)
					continue
				}
			}
		}
		// ApproxMetres, as in scan.
		x := float64(dlng * gridCosDeg((s.lat+plat)*0.5))
		d := gridMetresPerDeg * math.Sqrt(float64(dlat*dlat)+float64(x*x))
		if d > s.bound {
			continue
		}
		if !open {
			s.offer(e.id, e.tag, d)
			continue
		}
		if !judged {
			if decided, why, det := q.tagVerdict(e.id, e.tag, d); decided {
				c.t.add(why, det)
				continue
			}
		}
		if ok, why, det, _ := c.e.check(q, e.id, d); !ok {
			c.t.add(why, det)
			continue
		}
		s.push(e.id, d)
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

// search returns up to k eligible candidates ranked by score.
//
// A volunteer's score is at least its distance unless it earns a bonus
// (same street, same postcode unit, helped before). Those few are looked up
// directly; everyone else is found nearest first, and the search widens
// until the k-th best score is no worse than the distance of the farthest
// volunteer seen, beyond which nobody without a bonus can do better.
// buf, if not nil, lends its slices, so that many searches in a row (a
// dispatch) need not allocate them afresh; the result then lives in buf.
// With a tally t (and a reach), it counts exclusions as it goes: when it
// returns fewer than k, t holds them for everyone in reach. Without one,
// blocks where nobody can be eligible are passed over unread
// (query.hopeless).
func (e *Engine) search(q *query, k int, explain bool, buf *searchBuf, t *tally) []Candidate {
	if k <= 0 {
		return nil
	}
	var count *exclusionCount
	if t != nil && !q.remote {
		count = &exclusionCount{e: e, q: q, t: t}
	}
	// q.tagVerdict, unrolled so that each point costs one call.
	eligible := func(id, tag uint32, metres float64) bool {
		if !q.remote && metres > tagReach[tag>>tagReachShift&7] {
			if tag&tagReachExact != 0 {
				return false
			}
		} else if decided, _, _ := q.tagRules(id, tag); decided {
			return false
		}
		ok, _, _, _ := e.check(q, id, metres)
		return ok
	}
	// A volunteer whose reach class covers the search's reach, or the
	// point's greatest possible distance, cannot be too far: the tag's
	// verdict then needs no distance.
	reject := func(id, tag uint32, hiDegSq float64) bool {
		if c := tag >> tagReachShift & 7; !q.remote && q.maxMetres > tagReach[c] && hiDegSq > tagReachDegSq[c] {
			return false
		}
		decided, _, _ := q.tagRules(id, tag)
		return decided
	}
	var bonus []Candidate
	for _, id := range e.bonusHolders(q) {
		v := &e.vols[id]
		metres := ApproxMetres(q.lat, q.lng, v.lat, v.lng)
		if ok, _, _, _ := e.check(q, id, metres); ok && (q.remote || metres <= q.maxMetres) {
			bonus = append(bonus, e.score(q, id, metres, explain))
		}
	}
	want := k
	var ns []Neighbour
	var out []Candidate
	if buf != nil {
		ns, out = buf.ns[:0], buf.out[:0]
	}
	for {
		ns = slices.Grow(ns[:0], want)
		if count != nil {
			t.reset()
			ns = e.grid.nearestCounting(ns, q.lat, q.lng, want, q.maxMetres, count, eligible, q.hopeless)
		} else {
			ns = e.grid.nearestTagged(ns, q.lat, q.lng, want, q.maxMetres, eligible, reject, q.hopeless)
		}
		out = slices.Grow(out[:0], len(bonus)+len(ns))
		out = append(out, bonus...)
		for _, n := range ns {
			if !slices.ContainsFunc(bonus, func(c Candidate) bool { return c.id == n.ID }) {
				out = append(out, e.score(q, n.ID, n.Metres, explain))
			}
		}
		sortCandidates(out)
		if len(ns) < want || q.remote {
			break // everyone eligible in reach was seen
		}
		if len(out) >= k && out[k-1].Score <= ns[len(ns)-1].Metres {
			break
		}
		want *= 2
	}
	if buf != nil {
		buf.ns, buf.out = ns, out
	}
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// searchBuf holds a search's working slices for the next.
type searchBuf struct {
	ns  []Neighbour
	out []Candidate
}

// bonusHolders are the volunteers who may earn a bonus for q: those on its
// street, in its postcode unit, and those who helped its requester before.
func (e *Engine) bonusHolders(q *query) []uint32 {
	var ids []uint32
	if q.streetID != 0 {
		ids = e.listOf(ids, e.streets.head[q.streetID], 2)
	}
	if pc := e.postcodes.lookup(q.postcode, math.MaxUint32); pc != math.MaxUint32 {
		ids = e.listOf(ids, e.postcodes.head[pc], 0)
	}
	for _, name := range q.previous {
		if id, ok := e.ids.find(e.vols, name); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// streetIndexKey names a street within its postcode district, so that
// the same name in two towns is two streets. The district's length leads,
// so no two pairs give the same key.
func streetIndexKey(streetKey, postcode string) string {
	d := district(postcode)
	return strconv.Itoa(len(d)) + ":" + d + "|" + streetKey
}

func sortCandidates(c []Candidate) {
	slices.SortFunc(c, func(a, b Candidate) int {
		if a.Score != b.Score {
			if a.Score < b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Volunteer, b.Volunteer)
	})
}

// score ranks an eligible volunteer; see the package doc.
func (e *Engine) score(q *query, id uint32, metres float64, explain bool) Candidate {
	v := &e.vols[id]
	c := Candidate{id: id, Volunteer: v.name, DisplayName: v.displayName, Metres: metres, skills: q.skillNames}
	if explain {
		_, _, c.slot = e.availability(id, &q.window, e.hot[id].loc) // the slot to name
	}
	// Street names repeat from town to town; the same name counts as the
	// same street only within one postcode district (streetIndexKey).
	c.SameStreet = q.streetID != 0 && q.streetID == v.street
	c.SamePostcode = q.postcode != "" && q.postcodeID == v.postcode
	if !q.remote {
		c.Parts.Distance = metres
	}
	if c.SameStreet {
		c.Parts.SameStreet = -e.cfg.SameStreetMetres
	}
	if c.SamePostcode {
		c.Parts.SamePostcode = -e.cfg.SamePostcodeMetres
	}
	since := q.now.Add(-e.cfg.FairnessWindow)
	for _, t := range e.extraOf(id).recent {
		if t.After(since) {
			c.recentCount++
		}
	}
	c.Parts.Fairness = float64(c.recentCount) * e.cfg.FairnessMetres
	if slices.Contains(q.previous, v.name) {
		c.helped = true
		c.Parts.Continuity = -e.cfg.ContinuityMetres
	}
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

var reasonOrder = map[Reason]int{TooFar: 0, Paused: 1, DeclinedBefore: 2, AtCapacity: 3, MissingSkill: 4, Vetting: 5, Away: 6, NotAvailable: 7}

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
func (c Candidate) Explain() string {
	var parts []string
	if c.Metres < 1000 {
		parts = append(parts, fmt.Sprintf("%d m", int(math.Round(c.Metres/10)*10)))
	} else {
		parts = append(parts, fmt.Sprintf("%.1f km", c.Metres/1000))
	}
	switch {
	case c.SameStreet:
		parts = append(parts, "same street")
	case c.SamePostcode:
		parts = append(parts, "same postcode")
	}
	if len(c.skills) > 0 {
		parts = append(parts, "has "+strings.Join(c.skills, ", "))
	}
	if c.slot.to > 0 {
		parts = append(parts, fmt.Sprintf("free %s %02d:%02d-%02d:%02d", weekdayShort[c.slot.day],
			c.slot.from/60, c.slot.from%60, c.slot.to/60, c.slot.to%60))
	}
	if c.helped {
		parts = append(parts, "helped this person before")
	}
	switch c.recentCount {
	case 0:
	case 1:
		parts = append(parts, "1 job this week")
	default:
		parts = append(parts, fmt.Sprintf("%d jobs this week", c.recentCount))
	}
	return strings.Join(parts, ", ")
}

// Summary says why volunteers in reach were excluded, most common first:
// "4 nearby lack driver, 2 are away then".
func Summary(ex []Exclusion) string {
	if len(ex) == 0 {
		return ""
	}
	var parts []string
	for _, x := range ex {
		n := x.Count
		verb := func(one, many string) string {
			if n == 1 {
				return one
			}
			return many
		}
		var s string
		switch x.Reason {
		case TooFar:
			s = fmt.Sprintf("%d nearby %s not go that far", n, verb("does", "do"))
		case Paused:
			s = fmt.Sprintf("%d %s paused", n, verb("has", "have"))
		case DeclinedBefore:
			s = fmt.Sprintf("%d declined this request before", n)
		case AtCapacity:
			s = fmt.Sprintf("%d %s fully booked", n, verb("is", "are"))
		case MissingSkill:
			s = fmt.Sprintf("%d nearby %s %s", n, verb("lacks", "lack"), x.Detail)
		case Vetting:
			s = fmt.Sprintf("%d %s no %s DBS check", n, verb("has", "have"), x.Detail)
		case Away:
			s = fmt.Sprintf("%d %s away then", n, verb("is", "are"))
		case NotAvailable:
			s = fmt.Sprintf("%d %s not free then", n, verb("is", "are"))
		default:
			s = fmt.Sprintf("%d: %s", n, x.Reason)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// district is a normalised postcode's outward code ("AB10" of "AB10 1AB").
func district(pc string) string {
	if i := strings.IndexByte(pc, ' '); i >= 0 {
		return pc[:i]
	}
	return pc
}

// Eligible checks one volunteer against r's rules, as FindCandidates would,
// for an offer a coordinator chose by hand.
func (e *Engine) Eligible(r *pb.HelpRequest, previousHelpers []string, volunteer string, now time.Time) (bool, Exclusion, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	id, ok := e.ids.find(e.vols, volunteer)
	if !ok {
		return false, Exclusion{}, ErrUnknownVolunteer
	}
	q, err := e.prepare(r, previousHelpers, now)
	if err != nil {
		return false, Exclusion{}, err
	}
	v := &e.vols[id]
	metres := ApproxMetres(q.lat, q.lng, v.lat, v.lng)
	if !q.remote && metres > q.maxMetres {
		return false, Exclusion{Reason: TooFar, Detail: "beyond the need's reach", Count: 1}, nil
	}
	if ok, why, det, _ := e.check(q, id, metres); !ok {
		return false, Exclusion{Reason: reasonOfCode[why], Detail: q.detail(why, det), Count: 1}, nil
	}
	return true, Exclusion{}, nil
}

// ErrUnknownVolunteer is returned for a volunteer the engine does not hold.
var ErrUnknownVolunteer = errors.New("matcher: unknown volunteer")
