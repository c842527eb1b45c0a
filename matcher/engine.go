package matcher

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// volunteer is the engine's compact copy of what the rules need.
type volunteer struct {
	name, displayName string
	lat, lng          float64
	streetKey         string
	postcode          string
	maxMetres         float64
	skills            []uint32 // interned, sorted
	vetting           pb.Vetting_DbsLevel
	vettingUntil      int32 // last civil day the check counts
	slots             []slot
	loc               *time.Location
	away              [][2]int32
	capacity          int32
	active, pending   int32
	paused            bool
	recent            []time.Time
	live              bool
	rev               uint64 // the etag it was stored with: later writes win
}

// Engine answers candidate searches and plans dispatch. It is safe for
// concurrent use: searches share a read lock, updates take the write lock.
type Engine struct {
	cfg  Config
	mu   sync.RWMutex
	grid *Grid
	vols []volunteer
	// hot holds, per volunteer, what the rules read first, packed into one
	// cache line: a search touches every volunteer it passes, and reading
	// the full record (and the slices it points to) for each cost several
	// cache misses apiece.
	hot     []hotVol
	locList []*time.Location
	ids     map[string]uint32
	free    []uint32
	tags    map[string]uint32
	locs    map[string]*time.Location
	// byPostcode and byStreet find the volunteers who may earn a bonus
	// without searching for them.
	byPostcode map[string][]uint32
	byStreet   map[string][]uint32
}

// hotVol flags.
const (
	hotPaused = 1 << iota
	hotFull   // assignments and pending offers fill capacity
	hotAway   // has away dates: check them on the full record
	hotUneven // a slot starts or ends off the hour: the hour mask is not exact
)

// hotVol is the packed part of a volunteer the rules read first.
type hotVol struct {
	maxMetres    float32
	vettingUntil int32
	skills       uint64    // bit i: has the tag interned as i (i < 64)
	week         [7]uint32 // per weekday, bit h: a slot touches hour h
	loc          uint16    // index into Engine.locList
	vetting      uint8
	flags        uint8
}

// CellMetres is the grid's cell size: about a street block, so that a
// 1.5 km search visits a few hundred cells.
const CellMetres = 100

// NewEngine returns an empty engine.
func NewEngine(cfg Config) *Engine {
	return &Engine{cfg: cfg, grid: NewGrid(CellMetres), ids: map[string]uint32{}, tags: map[string]uint32{},
		locs: map[string]*time.Location{}, byPostcode: map[string][]uint32{}, byStreet: map[string][]uint32{}}
}

// Reserve makes room for n more volunteers, so that loading a known number
// does not copy the arrays again and again as they grow.
func (e *Engine) Reserve(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vols = slices.Grow(e.vols, n)
	e.hot = slices.Grow(e.hot, n)
}

// Len is how many volunteers the engine holds.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.ids)
}

func (e *Engine) tag(s string) uint32 {
	id, ok := e.tags[s]
	if !ok {
		id = uint32(len(e.tags))
		e.tags[s] = id
	}
	return id
}

func (e *Engine) location(name string) (*time.Location, uint16, error) {
	if name == "" {
		name = "Europe/London"
	}
	if loc, ok := e.locs[name]; ok {
		return loc, uint16(slices.Index(e.locList, loc)), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, 0, fmt.Errorf("matcher: time zone %q: %w", name, err)
	}
	if len(e.locList) == math.MaxUint16 {
		return nil, 0, fmt.Errorf("matcher: too many time zones")
	}
	e.locs[name] = loc
	e.locList = append(e.locList, loc)
	return loc, uint16(len(e.locList) - 1), nil
}

// ErrNoLocation is returned for a volunteer or request without coordinates.
var ErrNoLocation = errors.New("matcher: no coordinates")

// UpsertVolunteer adds or replaces a volunteer, as stored (with the
// output-only counters the store keeps).
func (e *Engine) UpsertVolunteer(v *pb.Volunteer) error {
	ll := v.GetHome().GetLatLng()
	if ll == nil {
		return ErrNoLocation
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	loc, locIdx, err := e.location(v.GetAvailability().GetTimeZone())
	if err != nil {
		return err
	}
	nv := volunteer{
		name:         v.Name,
		displayName:  v.GetContact().GetDisplayName(),
		lat:          ll.Latitude,
		lng:          ll.Longitude,
		streetKey:    geo.StreetKey(v.GetHome().GetStreet()),
		postcode:     v.GetHome().GetPostcode(),
		maxMetres:    float64(v.MaxDistanceMetres),
		vetting:      v.GetVetting().GetLevel(),
		vettingUntil: math.MaxInt32,
		loc:          loc,
		capacity:     v.Capacity,
		active:       v.ActiveAssignments,
		pending:      v.PendingOffers,
		paused:       v.Paused,
		live:         true,
	}
	if exp := v.GetVetting().GetExpireDate(); exp != nil {
		nv.vettingUntil = dateDay(exp)
	}
	for _, s := range v.Skills {
		nv.skills = append(nv.skills, e.tag(s))
	}
	slices.Sort(nv.skills)
	for _, s := range v.GetAvailability().GetWeekly() {
		nv.slots = append(nv.slots, slot{
			day:  time.Weekday(s.Day % 7), // proto Sunday is 7; Go's is 0
			from: int16(s.GetStartTime().GetHours()*60 + s.GetStartTime().GetMinutes()),
			to:   int16(s.GetEndTime().GetHours()*60 + s.GetEndTime().GetMinutes()),
		})
	}
	for _, a := range v.GetAvailability().GetAway() {
		nv.away = append(nv.away, [2]int32{dateDay(a.GetStartDate()), dateDay(a.GetEndDate())})
	}
	for _, t := range v.RecentAssignmentTimes {
		nv.recent = append(nv.recent, t.AsTime())
	}
	nv.rev, _ = strconv.ParseUint(v.Etag, 10, 64)
	h := hotVol{maxMetres: float32(nv.maxMetres), vettingUntil: nv.vettingUntil, loc: locIdx, vetting: uint8(nv.vetting)}
	for _, t := range nv.skills {
		if t < 64 {
			h.skills |= 1 << t
		}
	}
	for _, sl := range nv.slots {
		for hr := sl.from / 60; hr <= (sl.to-1)/60 && hr < 24; hr++ {
			h.week[sl.day] |= 1 << hr
		}
		if sl.from%60 != 0 || sl.to%60 != 0 {
			h.flags |= hotUneven
		}
	}
	if nv.paused {
		h.flags |= hotPaused
	}
	if nv.active+nv.pending >= nv.capacity {
		h.flags |= hotFull
	}
	if len(nv.away) > 0 {
		h.flags |= hotAway
	}
	id, ok := e.ids[v.Name]
	// Writes reach the engine after they commit, so two of them can arrive
	// out of order: the older one must not undo the newer.
	if ok && e.vols[id].rev > nv.rev {
		return nil
	}
	if !ok {
		if n := len(e.free); n > 0 {
			id, e.free = e.free[n-1], e.free[:n-1]
		} else {
			id = uint32(len(e.vols))
			e.vols = append(e.vols, volunteer{})
			e.hot = append(e.hot, hotVol{})
		}
		e.ids[v.Name] = id
	} else {
		e.unlink(id)
	}
	e.vols[id] = nv
	e.hot[id] = h
	e.grid.Upsert(id, nv.lat, nv.lng)
	e.byPostcode[nv.postcode] = append(e.byPostcode[nv.postcode], id)
	if nv.streetKey != "" {
		k := streetIndexKey(nv.streetKey, nv.postcode)
		e.byStreet[k] = append(e.byStreet[k], id)
	}
	return nil
}

// unlink drops id from the bonus lookups.
func (e *Engine) unlink(id uint32) {
	v := &e.vols[id]
	drop := func(m map[string][]uint32, key string) {
		ids := slices.DeleteFunc(m[key], func(x uint32) bool { return x == id })
		if len(ids) == 0 {
			delete(m, key)
		} else {
			m[key] = ids
		}
	}
	drop(e.byPostcode, v.postcode)
	if v.streetKey != "" {
		drop(e.byStreet, streetIndexKey(v.streetKey, v.postcode))
	}
}

// RemoveVolunteer forgets a volunteer.
func (e *Engine) RemoveVolunteer(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.ids[name]
	if !ok {
		return
	}
	delete(e.ids, name)
	e.unlink(id)
	e.grid.Remove(id)
	e.vols[id] = volunteer{}
	e.hot[id] = hotVol{}
	e.free = append(e.free, id)
}

// Reason names a rule a volunteer failed.
type Reason string

// The rules, in the order they are checked.
const (
	TooFar         Reason = "TOO_FAR"
	Paused         Reason = "PAUSED"
	DeclinedBefore Reason = "DECLINED_BEFORE"
	AtCapacity     Reason = "AT_CAPACITY"
	MissingSkill   Reason = "MISSING_SKILL"
	Vetting        Reason = "VETTING"
	Away           Reason = "AWAY"
	NotAvailable   Reason = "NOT_AVAILABLE"
)

// Parts are the terms of a score, in metres.
type Parts struct {
	Distance, SameStreet, SamePostcode, Fairness, Continuity float64
}

// Candidate is one eligible volunteer.
type Candidate struct {
	Volunteer    string
	DisplayName  string
	Metres       float64
	SameStreet   bool
	SamePostcode bool
	Score        float64
	Parts        Parts
	id           uint32 // the engine's index, for dispatch
	// what the explanation needs
	skills      []string
	slot        slot
	recentCount int
	helped      bool
}

// Exclusion counts volunteers in reach failing one rule.
type Exclusion struct {
	Reason Reason
	Detail string
	Count  int
}

// Result is a candidate search's answer.
type Result struct {
	Candidates []Candidate
	// Exclusions are filled only when fewer than the asked-for number of
	// candidates were found: that is when helpline staff need the reasons.
	Exclusions []Exclusion
}

// query is a request prepared for the rules.
type query struct {
	lat, lng     float64
	streetKey    string
	postcode     string
	remote       bool
	maxMetres    float64
	minVetting   pb.Vetting_DbsLevel
	skills       []uint32 // interned; a skill nobody has is never interned
	skillNames   []string
	skillName    map[uint32]string
	vettingName  string // "basic" or "enhanced", for the exclusion detail
	missingSkill string // a required skill no volunteer has, if any
	vettingDay   int32
	window       windowCache
	declined     []uint32 // engine ids
	skillMask    uint64   // the required skills, when all are below 64
	skillsSlow   bool     // a required skill is interned at 64 or above
	previous     []string
	now          time.Time
}

// ErrNoWindow is returned for a request without a window or deadline.
var ErrNoWindow = errors.New("matcher: request has no window or deadline")

// prepare turns a request into a query. Callers hold the read lock.
func (e *Engine) prepare(r *pb.HelpRequest, previousHelpers []string, now time.Time) (*query, error) {
	ll := r.GetLocation().GetLatLng()
	if ll == nil {
		return nil, ErrNoLocation
	}
	q := &query{
		lat: ll.Latitude, lng: ll.Longitude,
		streetKey: geo.StreetKey(r.GetLocation().GetStreet()),
		postcode:  r.GetLocation().GetPostcode(),
		remote:    r.RemoteOk,

		previous: previousHelpers,
		now:      now,
	}
	switch {
	case r.GetWindow() != nil:
		q.window.start, q.window.end = r.GetWindow().GetStartTime().AsTime(), r.GetWindow().GetEndTime().AsTime()
	case r.GetDeadline() != nil:
		q.window.start, q.window.end = now, r.GetDeadline().AsTime()
	default:
		return nil, ErrNoWindow
	}
	if q.window.start.Before(now) {
		q.window.start = now // help can only happen from now on
	}
	q.maxMetres = math.Inf(1)
	seen := map[string]bool{}
	for _, n := range r.Needs {
		rule, ok := e.cfg.Needs[n]
		if !ok {
			rule = e.cfg.Needs[pb.Need_NEED_OTHER]
		}
		if rule.MaxMetres > 0 {
			q.maxMetres = math.Min(q.maxMetres, rule.MaxMetres)
		}
		q.minVetting = max(q.minVetting, rule.MinVetting)
		for _, s := range rule.Skills {
			if !seen[s] {
				seen[s] = true
				q.skillNames = append(q.skillNames, s)
			}
		}
	}
	if r.EntersHome {
		q.minVetting = max(q.minVetting, e.cfg.EntersHomeVetting)
	}
	q.vettingName = strings.ToLower(strings.TrimPrefix(q.minVetting.String(), "DBS_LEVEL_"))
	for _, s := range r.RequiredSkills {
		if !seen[s] {
			seen[s] = true
			q.skillNames = append(q.skillNames, s)
		}
	}
	if len(q.skillNames) > 0 {
		q.skillName = make(map[uint32]string, len(q.skillNames))
	}
	for _, s := range q.skillNames {
		id, ok := e.tags[s]
		if !ok {
			if q.missingSkill == "" {
				q.missingSkill = s
			}
			continue
		}
		q.skills = append(q.skills, id)
		q.skillName[id] = s
	}
	slices.Sort(q.skills)
	for _, id := range q.skills {
		if id < 64 {
			q.skillMask |= 1 << id
		} else {
			q.skillsSlow = true
		}
	}
	for _, name := range r.DeclinedVolunteers {
		if id, ok := e.ids[name]; ok {
			q.declined = append(q.declined, id)
		}
	}
	q.window.engine = e
	if q.remote {
		q.maxMetres = math.Inf(1)
	}
	ws := q.window.start.UTC()
	q.vettingDay = civilDay(ws.Year(), ws.Month(), ws.Day())
	return q, nil
}

// check applies the rules in order; detail names the skill or level. It
// reads the packed record first and the full one only when it must.
func (e *Engine) check(q *query, id uint32, metres float64) (ok bool, why Reason, detail string, at slot) {
	h := &e.hot[id]
	switch {
	case !q.remote && metres > float64(h.maxMetres):
		return false, TooFar, "", slot{}
	case h.flags&hotPaused != 0:
		return false, Paused, "", slot{}
	case len(q.declined) > 0 && slices.Contains(q.declined, id):
		return false, DeclinedBefore, "", slot{}
	case h.flags&hotFull != 0:
		return false, AtCapacity, "", slot{}
	case q.missingSkill != "":
		return false, MissingSkill, q.missingSkill, slot{}
	}
	if lacking := q.skillMask &^ h.skills; lacking != 0 {
		return false, MissingSkill, q.skillName[uint32(bits.TrailingZeros64(lacking))], slot{}
	}
	if q.skillsSlow {
		if s, ok := missing(q.skills, e.vols[id].skills); !ok {
			return false, MissingSkill, q.skillName[s], slot{}
		}
	}
	if q.minVetting > pb.Vetting_DBS_LEVEL_NONE {
		level := pb.Vetting_DbsLevel(h.vetting)
		if q.vettingDay > h.vettingUntil {
			level = pb.Vetting_DBS_LEVEL_NONE
		}
		if level < q.minVetting {
			return false, Vetting, q.vettingName, slot{}
		}
	}
	// Slots are compared by the hour first. No slot touching any hour the
	// window touches means not free. When every slot starts and ends on
	// the hour, a shared hour is a real overlap too: the slot fills that
	// whole hour and the window has some of it. Only uneven slots and away
	// dates need the full record.
	wm := q.window.mask(h.loc)
	overlap := false
	for d := range wm {
		if wm[d]&h.week[d] != 0 {
			overlap = true
			break
		}
	}
	switch {
	case !overlap && h.flags&hotAway == 0:
		return false, NotAvailable, "", slot{}
	case overlap && h.flags&(hotAway|hotUneven) == 0:
		return true, "", "", slot{}
	}
	free, away, at := e.vols[id].availability(&q.window, h.loc)
	switch {
	case away:
		return false, Away, "", slot{}
	case !free:
		return false, NotAvailable, "", slot{}
	}
	return true, "", "", at
}

// missing reports the first of need (sorted) absent from have (sorted).
func missing(need, have []uint32) (uint32, bool) {
	j := 0
	for _, n := range need {
		for j < len(have) && have[j] < n {
			j++
		}
		if j == len(have) || have[j] != n {
			return n, false
		}
	}
	return 0, true
}

// Compact renumbers the volunteers so that neighbours on the ground are
// neighbours in memory (in Z-order of their position), then rebuilds the
// grid and lookups. A search reads the packed record of every volunteer it
// passes; after Compact those reads mostly hit memory already cached.
// Call it after loading many volunteers; later additions go at the end.
func (e *Engine) Compact() {
	e.mu.Lock()
	defer e.mu.Unlock()
	live := make([]uint32, 0, len(e.ids))
	for _, id := range e.ids {
		live = append(live, id)
	}
	keys := make([]uint64, len(e.vols))
	for _, id := range live {
		v := &e.vols[id]
		keys[id] = zOrder(v.lat, v.lng)
	}
	slices.SortFunc(live, func(a, b uint32) int {
		switch {
		case keys[a] < keys[b]:
			return -1
		case keys[a] > keys[b]:
			return 1
		}
		return int(a) - int(b)
	})
	vols := make([]volunteer, len(live))
	hot := make([]hotVol, len(live))
	for i, old := range live {
		vols[i], hot[i] = e.vols[old], e.hot[old]
	}
	e.vols, e.hot, e.free = vols, hot, nil
	e.grid = NewGrid(CellMetres)
	e.ids = make(map[string]uint32, len(live))
	e.byPostcode = map[string][]uint32{}
	e.byStreet = map[string][]uint32{}
	for i := range e.vols {
		id := uint32(i)
		v := &e.vols[id]
		e.ids[v.name] = id
		e.grid.Upsert(id, v.lat, v.lng)
		e.byPostcode[v.postcode] = append(e.byPostcode[v.postcode], id)
		if v.streetKey != "" {
			k := streetIndexKey(v.streetKey, v.postcode)
			e.byStreet[k] = append(e.byStreet[k], id)
		}
	}
}

// zOrder interleaves the bits of a point's position on a grid of about
// 10 m, so that sorting by it keeps nearby points together.
func zOrder(lat, lng float64) uint64 {
	y := uint64(uint32((lat + 90) * 10000))
	x := uint64(uint32((lng + 180) * 10000))
	return spread(y)<<1 | spread(x)
}

// spread puts a zero bit between each of the low 32 bits of v.
func spread(v uint64) uint64 {
	v &= 0xffffffff
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}
