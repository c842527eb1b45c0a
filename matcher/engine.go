package matcher

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// volunteer is the engine's compact copy of what the rules need beyond
// the packed record (hotVol). It holds no pointers: names and display
// names lie in one arena (Engine.text), postcodes and streets are
// interned, weekly slots live in another arena, and the fields few
// volunteers have (away dates, recent assignments, skills interned past
// 64) in a side table, so that a million cost tens of megabytes, not
// hundreds, the collector need not scan them, and a search reads one
// short record per candidate.
type volunteer struct {
	// text is where its name and display name lie in Engine.text
	// (textOf), nameLen and shownLen their lengths, or longText if they
	// lie there too. As strings of their own they cost two 16-byte
	// headers here and their allocations rounded up, some 50 bytes a
	// volunteer, and made the records something the collector scans.
	text              uint32
	nameLen, shownLen uint16
	// What scoring a candidate reads (Engine.score, touchRecords) comes
	// first, in 40 bytes of a record of 80.
	postcode uint32 // index into Engine.postcodes
	street   uint32 // index into Engine.streets; 0: no street
	slotOff  uint32 // its weekly slots are Engine.slots[slotOff:][:nSlots]
	nSlots   uint32
	lat, lng float64
	rev      uint64 // the etag it was stored with: later writes win
	capacity int32
	active   int32
	pending  int32
	// links chain the volunteers of one postcode ([0], [1]: previous and
	// next id+1, 0 for none) and of one street ([2], [3]).
	links  [4]uint32
	paused bool
	live   bool
}

// volExtra is what few volunteers have.
type volExtra struct {
	away        [][2]int32
	recent      []time.Time
	skillsHigh  []uint32 // skills interned at 64 or above, sorted
	commitments []commitment
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
	ids     nameIndex
	free    []uint32
	tags    map[string]uint32
	// tagsKept is how many tags were numbered when unused ones were last
	// dropped (dropUnused).
	tagsKept int
	locs     map[string]*time.Location
	// slots holds every volunteer's weekly slots, each volunteer's
	// together; an update appends afresh, and the arena is repacked once
	// half of it is stale.
	slots      []packedSlot
	staleSlots int
	// text holds every volunteer's name and display name
	// (volunteer.text, textOf); it is repacked once half of it is stale.
	text textArena
	// extra holds, by id, the side records of the few volunteers who have
	// one (hotExtra): a slice, not a map, so that finding one is a single
	// load, which a batch of rule checks can warm ahead (warmRecords).
	extra []*volExtra
	// pending are volunteers whose grid entries may be out of date. Writes
	// only note them, and the grid is brought up to date before it is next
	// read (freshGrid): loading a store is a million writes and then one
	// bulk build, not a million grid inserts.
	pending []uint32
	// postcodes and streets (sector and street key) find the volunteers
	// who may earn a bonus without searching for them.
	postcodes interned
	streets   interned
	// recentVols is how many volunteers list a recent assignment, of any
	// age: a search for k asks the grid for a few more than k+1 at first
	// when some of the nearest may rank below their distance (search).
	recentVols int

	// idEpoch changes whenever an id may come to name another volunteer:
	// a removal (ids are reused) or Compact (which renumbers). Work that
	// holds ids across a release of the lock (PlanDispatch) checks it.
	idEpoch uint64

	// testHook, if set, is called at points where the engine is not
	// locked, for tests to write there: "dispatch run" after each run of
	// a dispatch's searches, "dispatch solve" before its solver.
	testHook func(point string)
}

// hotVol flags.
const (
	hotPaused = 1 << iota
	hotFull   // assignments and pending offers fill capacity
	hotAway   // has away dates: check them on the full record, or by hotSpan
	hotUneven // a slot starts or ends off the hour: the hour mask is not exact
	hotExtra  // has a volExtra
	hotBusy   // holds jobs with windows: check them on the full record
	hotSpan   // the away dates are one span of days, held in week (awaySpan)
)

// hotVol is the packed part of a volunteer the rules read first.
type hotVol struct {
	maxMetres    float32
	vettingUntil int32
	skills       uint64    // bit i: has the tag interned as i (i < 64)
	week         [7]uint32 // per weekday, bit h < 24: a slot touches hour h; the top bytes, the away span
	loc          uint16    // index into Engine.locList
	vetting      uint8
	flags        uint8
}

// hotHours masks a week word's hours, below the byte that holds a part of
// the away span.
const hotHours = 1<<24 - 1

// setAwaySpan keeps away dates that are one span of days, lo..hi, in the
// week words' top bytes and sets hotSpan, if they are and it fits: a
// search that reaches a volunteer who is away then judges their dates
// without the side record, which for a request in the evening, when few
// are free, is a cache miss or three for each of the twentieth or so of
// volunteers who are away (a sweep of 1.5 km passed 45 to 74 of them).
func (h *hotVol) setAwaySpan(away [][2]int32) {
	spans := away
	if len(away) > 1 { // one range, the usual, needs no copy
		spans = make([][2]int32, 0, len(away))
		for _, a := range away {
			if a[0] <= a[1] {
				spans = append(spans, a)
			}
		}
		slices.SortFunc(spans, func(a, b [2]int32) int { return cmp.Compare(a[0], b[0]) })
	}
	if len(spans) == 0 || spans[0][0] > spans[0][1] {
		return // away on no day
	}
	lo, hi := spans[0][0], spans[0][1]
	for _, a := range spans[1:] {
		if int64(a[0]) > int64(hi)+1 {
			return // a gap: not one span
		}
		hi = max(hi, a[1])
	}
	if lo < 0 || lo >= 1<<24 || int64(hi)-int64(lo) >= 1<<24 {
		return
	}
	v := uint64(lo) | uint64(hi-lo)<<24
	for d := range h.week {
		h.week[d] = h.week[d]&hotHours | uint32(v>>(8*d)&0xff)<<24
	}
	h.flags |= hotSpan
}

// awaySpan is the span of away days setAwaySpan kept (with hotSpan set).
func (h *hotVol) awaySpan() (lo, hi int32) {
	var v uint64
	for d := range h.week {
		v |= uint64(h.week[d]>>24) << (8 * d)
	}
	lo = int32(v & (1<<24 - 1))
	return lo, lo + int32(v>>24&(1<<24-1))
}

// CellMetres is the grid's cell size: about a street block, so that a
// 1.5 km search visits a few hundred cells.
const CellMetres = 100

// NewEngine returns an empty engine.
func NewEngine(cfg Config) *Engine {
	e := &Engine{cfg: cfg, grid: NewGrid(CellMetres), tags: map[string]uint32{}, locs: map[string]*time.Location{},
		postcodes: newInterned(), streets: newInterned()}
	// The first zone is the one the tags' hours, the blocks' aggregates
	// and the night shortcuts hold for (tagOtherZone): the UK's, whatever
	// order a store's volunteers load in, or a befriender abroad loaded
	// first would turn them off for everyone else. Without the zone
	// database it is the first met, as before.
	_, _, _ = e.location(defaultZone)
	return e
}

// Reserve makes room for n more volunteers, so that loading a known number
// does not copy the arrays again and again as they grow.
func (e *Engine) Reserve(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vols = slices.Grow(e.vols, n)
	e.hot = slices.Grow(e.hot, n)
	e.extra = slices.Grow(e.extra, n)
	e.ids.reserve(e, len(e.vols)+n)
}

// Len is how many volunteers the engine holds.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.ids.len()
}

func (e *Engine) tag(s string) uint32 {
	id, ok := e.tags[s]
	if !ok {
		id = uint32(len(e.tags))
		e.tags[s] = id
	}
	return id
}

// defaultZone is a volunteer's time zone when they give none: Doorstep's
// groups and helplines are in the UK.
const defaultZone = "Europe/London"

func (e *Engine) location(name string) (*time.Location, uint16, error) {
	if name == "" {
		name = defaultZone
	}
	if loc, ok := e.locs[name]; ok {
		return loc, uint16(slices.Index(e.locList, loc)), nil
	}
	loc, err := loadZone(name)
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

// zones holds every time zone any engine has loaded, by name. An
// engine keeps its own list, but StillEligibleAsStored builds an engine
// for each record it judges (every hand-made offer, every accept, and a
// dispatch's offers to volunteers whose record changed since the plan):
// time.LoadLocation reads and parses the zone's file each time, most of
// that judgement's cost, inside the offer's write transaction.
var zones sync.Map // string -> *time.Location

func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

// ErrNoLocation is returned for a volunteer or request without coordinates,
// with coordinates not on Earth, or at 0, 0 (geo.NullIsland).
var ErrNoLocation = errors.New("matcher: no coordinates")

// UpsertVolunteer adds or replaces a volunteer, as stored (with the
// output-only counters the store keeps).
func (e *Engine) UpsertVolunteer(v *pb.Volunteer) error {
	// With room for a week of slots, which the slots then take in one
	// allocation rather than four as they grow.
	// The slots go apart from in, which Upsert's strings make escape
	// (escape analysis does not tell one field from another), so that
	// room stays on the stack: a write allocated it every time.
	var in Volunteer
	var room [7]wireSlot
	warmMessage(v)
	in.setFields(v)
	return e.upsert(&in, room[:0], v)
}

// Upsert adds or replaces a volunteer taken in by DecodeVolunteer (or
// UpsertVolunteer). It keeps nothing of v but strings, so v can be
// reused.
func (e *Engine) Upsert(v *Volunteer) error { return e.upsert(v, v.weekly, nil) }

// upsert is Upsert with v's weekly slots in weekly; or, if msg is not nil,
// appended to weekly from msg once warmUpsert has read them ahead beside
// the engine's own tables.
func (e *Engine) upsert(v *Volunteer, weekly []wireSlot, msg *pb.Volunteer) error {
	if !v.hasLatLng || !geo.IsPlace(v.lat, v.lng) {
		// Off Earth (a record stored before the server checked), the
		// grid would refuse the point only at the next search, with a
		// panic under the engine's lock. At 0, 0 (stored before the
		// server refused it) everyone there would be neighbours.
		return ErrNoLocation
	}
	var streetKey string
	if sk := geo.StreetKey(v.street); sk != "" {
		streetKey = streetIndexKey(sk, v.postcode)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	hName, hPostcode := e.ids.hash(v.name), e.postcodes.index.hash(v.postcode)
	var hStreet uint64
	if streetKey != "" {
		hStreet = e.streets.index.hash(streetKey)
	}
	e.warmUpsert(hName, hPostcode, hStreet, streetKey != "", v.lat, v.lng, msg.GetAvailability().GetWeekly())
	if msg != nil {
		weekly = appendWeekly(weekly, msg)
	}
	_, locIdx, err := e.location(v.timeZone)
	if err != nil {
		return err
	}
	// Skills are interned even for a write that loses below, as they always
	// were; known or not, a skill lacked is named the same way
	// (firstLacking).
	skills := make([]uint32, len(v.skills))
	for i, s := range v.skills {
		skills[i] = e.tag(s)
	}
	rev, _ := strconv.ParseUint(v.etag, 10, 64)
	id, ok := e.ids.findHashed(e, volName, v.name, hName)
	// Writes reach the engine after they commit, so two of them can arrive
	// out of order: the older one must not undo the newer.
	if ok && e.vols[id].rev > rev {
		return nil
	}
	nv := volunteer{
		lat:      v.lat,
		lng:      v.lng,
		rev:      rev,
		capacity: v.capacity,
		active:   v.active,
		pending:  v.pending,
		paused:   v.paused,
		live:     true,
	}
	// Most updates keep the display name, and the text with it.
	kept := false
	if ok {
		old := &e.vols[id]
		if _, shown := e.textOf(old); shown == v.displayName {
			nv.text, nv.nameLen, nv.shownLen = old.text, old.nameLen, old.shownLen
			kept = true
		} else {
			e.text.stale += e.textBytes(old)
		}
	}
	if !kept {
		e.putText(&nv, v.name, v.displayName)
	}
	nv.postcode = e.postcodes.internHashed(v.postcode, hPostcode)
	if streetKey != "" {
		nv.street = e.streets.internHashed(streetKey, hStreet)
	}
	h := hotVol{maxMetres: float32(v.maxMetres), vettingUntil: math.MaxInt32, loc: locIdx, vetting: uint8(v.vetting)}
	if v.hasExpire {
		h.vettingUntil = v.expire.civil()
	}
	var x volExtra
	for _, t := range skills {
		if t < 64 {
			h.skills |= 1 << t
		} else {
			x.skillsHigh = append(x.skillsHigh, t)
		}
	}
	slices.Sort(x.skillsHigh)
	x.skillsHigh = slices.Compact(x.skillsHigh)
	nv.slotOff, nv.nSlots = uint32(len(e.slots)), uint32(len(weekly))
	// No more slots than the record had go in their place: appended for
	// every write, they grew the arena, copied and repacked it, a third
	// of an update's bytes.
	inPlace := ok && nv.nSlots <= e.vols[id].nSlots
	if inPlace {
		nv.slotOff = e.vols[id].slotOff
		e.staleSlots -= int(nv.nSlots) // unlink counts all the record's stale
	}
	for i, s := range weekly {
		// Minutes past a day's bounds (the server refuses them) meet a
		// window's pieces, which lie within a day, as the bounds do, and
		// are kept as the bounds, which packing needs.
		sl := slot{
			day:  uint8(s.day % 7), // proto Sunday is 7; Go's is 0
			from: int16(min(max(s.start.hours*60+s.start.minutes, 0), 1440)),
			to:   int16(min(max(s.end.hours*60+s.end.minutes, 0), 1440)),
		}
		if inPlace {
			e.slots[nv.slotOff+uint32(i)] = sl.pack()
		} else {
			e.slots = append(e.slots, sl.pack())
		}
		// An empty slot frees no hour: (0-1)/60 is 0, and 00:00-00:00
		// would mark midnight's hour, which the rules take as exact.
		for hr := sl.from / 60; sl.from < sl.to && hr <= (sl.to-1)/60 && hr < 24; hr++ {
			h.week[sl.day] |= 1 << hr
		}
		if sl.from%60 != 0 || sl.to%60 != 0 {
			h.flags |= hotUneven
		}
	}
	for _, a := range v.away {
		x.away = append(x.away, [2]int32{a.start.civil(), a.end.civil()})
	}
	for _, t := range v.recent {
		x.recent = append(x.recent, time.Unix(t.seconds, int64(t.nanos)).UTC())
	}
	for _, c := range v.commitments {
		x.commitments = append(x.commitments, commitment{c.request, placeOf(c.street, c.postcode), e.jobOf(c.start, c.end, c.needs)})
	}
	if nv.paused {
		h.flags |= hotPaused
	}
	if nv.active+nv.pending >= nv.capacity {
		h.flags |= hotFull
	}
	if len(x.away) > 0 {
		h.flags |= hotAway
		h.setAwaySpan(x.away)
		if h.flags&hotSpan != 0 {
			// The packed record holds them (awayDays): most who are
			// away then need no side record.
			x.away = nil
		}
	}
	if len(x.commitments) > 0 {
		h.flags |= hotBusy
	}
	// The side record goes to the heap only for the few who have one.
	var extra *volExtra
	if len(x.away)+len(x.recent)+len(x.skillsHigh)+len(x.commitments) > 0 {
		h.flags |= hotExtra
		extra = new(volExtra)
		*extra = x
	}
	if len(x.recent) > 0 {
		e.recentVols++
	}
	switch {
	case ok:
		e.unlink(id)
		e.vols[id], e.hot[id], e.extra[id] = nv, h, extra
	case len(e.free) > 0:
		n := len(e.free)
		id, e.free = e.free[n-1], e.free[:n-1]
		e.vols[id], e.hot[id], e.extra[id] = nv, h, extra
	default:
		id = uint32(len(e.vols))
		e.vols = append(e.vols, nv)
		e.hot = append(e.hot, h)
		e.extra = append(e.extra, extra)
	}
	if !ok {
		e.ids.insert(e, id)
	}
	e.pending = append(e.pending, id)
	if len(e.pending) > 2*len(e.vols)+1<<16 {
		e.freshGrid() // a long run of updates with no search between
	}
	e.link(id)
	e.repackStale()
	e.dropUnused()
	return nil
}

// warmUpsert reads ahead what upsert's three lookups (the name's, the
// postcode's, the street's) will read, level by level. Each lookup waits
// on three cache misses in turn (a table's slot, the record or offset it
// names, then the string's bytes in an arena), and the update after them
// on the record's list neighbours, its packed record and its slots; a
// million volunteers' tables are far larger than the caches, and those
// waits were most of an update. The grid's slot and block for the
// volunteer, which the next search's update of the grid reads in turn
// (Grid.warm), and the message's slots and their times (slots, as
// warmMessage leaves them), are warmed beside them. Across the lookups
// the loads do not depend on each other, so here their misses overlap
// (Go has no prefetch; warmRecords does the same for the rules). A guess
// may be wrong (another string with the same fingerprint): it only warms
// the wrong line.
func (e *Engine) warmUpsert(hName, hPostcode, hStreet uint64, street bool, lat, lng float64, slots []*pb.AvailabilitySlot) {
	var sink uint32
	id, okName := e.ids.guess(hName)
	pc, okPostcode := e.postcodes.index.guess(hPostcode)
	var st uint32
	okStreet := false
	if street {
		st, okStreet = e.streets.index.guess(hStreet)
	}
	// The message's slots, then their times (warmMessage).
	for _, sl := range slots {
		if sl != nil {
			sink += uint32(sl.Day)
		}
	}
	var v *volunteer
	var gs gridSlot
	if okName && int(id) < len(e.vols) {
		v = &e.vols[id]
		sink += v.text + uint32(e.hot[id].flags)
		if e.extra[id] != nil {
			sink++
		}
		if g := e.grid; int(id) < len(g.slots) {
			gs = g.slots[id]
		}
	}
	for _, sl := range slots {
		if sl != nil && sl.StartTime != nil && sl.EndTime != nil {
			sink += uint32(sl.StartTime.Hours + sl.EndTime.Hours)
		}
	}
	var pcAt, stAt, pcHead, stHead uint32
	if okPostcode && int(pc) < len(e.postcodes.at) {
		pcAt, pcHead = e.postcodes.at[pc], e.postcodes.head[pc]
	}
	if okStreet && int(st) < len(e.streets.at) {
		stAt, stHead = e.streets.at[st], e.streets.head[st]
	}
	// link puts the volunteer before the first of their postcode's and
	// street's lists, writing that one's record.
	for _, n := range [2]uint32{pcHead, stHead} {
		if n != 0 && int(n) <= len(e.vols) {
			sink += e.vols[n-1].links[0]
		}
	}
	if v != nil {
		if v.nameLen != 0 {
			sink += uint32(e.text.byteAt(v.text))
		}
		if v.nSlots != 0 && int(v.slotOff) < len(e.slots) {
			sink += uint32(e.slots[v.slotOff])
		}
		for _, n := range v.links {
			if n != 0 && int(n) <= len(e.vols) {
				sink += e.vols[n-1].links[0]
			}
		}
	}
	sink += e.grid.warm(gs, lat, lng)
	if okPostcode {
		sink += uint32(e.postcodes.text.byteAt(pcAt))
	}
	if okStreet {
		sink += uint32(e.streets.text.byteAt(stAt))
	}
	runtime.KeepAlive(sink) // the loads are the point
}

// internSlack is how many strings no volunteer has any more the interned
// tables may hold, beyond as many again as are in use, before dropUnused
// rebuilds them: a rebuild reads every volunteer, so it waits for that
// many to pile up.
const internSlack = 1024

// skillSlackPer is how many volunteers allow one more unused skill before
// dropUnused rebuilds the skills: so many volunteer records a rebuild reads
// for each skill it drops.
const skillSlackPer = 16

// dropUnused drops the postcodes, streets and skills no volunteer has any
// more, once they outnumber those in use. A server runs for months while
// volunteers come and go, move and change their skills; interned for
// good, the departed's strings would pile up for as long as it ran, and
// skills met early keep the fast checks (those numbered below 64, and
// below tagSkillBits in the grid's tags) from the skills in use now.
func (e *Engine) dropUnused() {
	live := e.ids.len()
	if e.postcodes.len() > 2*live+internSlack {
		e.postcodes = e.postcodes.kept(e.vols, 0, func(v *volunteer, to uint32) { v.postcode = to })
	}
	if e.streets.len() > 2*live+internSlack {
		e.streets = e.streets.kept(e.vols, 2, func(v *volunteer, to uint32) { v.street = to })
	}
	// Skills are few and volunteers many, so the skills' rebuild, which
	// reads every volunteer, waits for unused ones in proportion to the
	// volunteers too (one per skillSlackPer): waiting for a fixed number,
	// at a million volunteers a 20 ms rebuild came every thousand updates
	// that each brought a new skill, 17 µs an update on average.
	if len(e.tags) > 2*e.tagsKept+max(internSlack, live/skillSlackPer) {
		e.dropUnusedTags()
	}
}

// dropUnusedTags renumbers the skills volunteers have, in the order they
// were numbered, and forgets the others. Those numbered below
// tagSkillBits keep their numbers, used or not: the grid's tags hold them
// (volunteerTag), and a new number would mean retagging every volunteer
// in it. A query numbers its skills afresh under the lock, so no number
// is held across a rebuild.
func (e *Engine) dropUnusedTags() {
	used := make([]bool, len(e.tags))
	for id := range e.vols {
		if !e.vols[id].live {
			continue
		}
		for s := e.hot[id].skills; s != 0; s &= s - 1 {
			used[bits.TrailingZeros64(s)] = true
		}
		for _, t := range e.extraOf(uint32(id)).skillsHigh {
			used[t] = true
		}
	}
	to := make([]uint32, len(used))
	n := uint32(0)
	for t, u := range used {
		if u || t < tagSkillBits {
			to[t] = n
			n++
		}
	}
	for s, t := range e.tags {
		if used[t] || t < tagSkillBits {
			e.tags[s] = to[t]
		} else {
			delete(e.tags, s)
		}
	}
	e.tagsKept = int(n)
	const low = 1<<tagSkillBits - 1
	for id := range e.vols {
		if !e.vols[id].live {
			continue
		}
		h := &e.hot[id]
		// to keeps the order, and never numbers a skill higher, so the
		// skills past 64 stay sorted.
		mask, high := h.skills&low, []uint32(nil)
		move := func(t uint32) {
			if nt := to[t]; nt < 64 {
				mask |= 1 << nt
			} else {
				high = append(high, nt)
			}
		}
		for s := h.skills &^ low; s != 0; s &= s - 1 {
			move(uint32(bits.TrailingZeros64(s)))
		}
		if h.flags&hotExtra == 0 {
			h.skills = mask
			continue
		}
		x := *e.extra[id]
		for _, t := range x.skillsHigh {
			move(t)
		}
		h.skills, x.skillsHigh = mask, high
		if len(x.away)+len(x.recent)+len(x.skillsHigh)+len(x.commitments) == 0 {
			h.flags &^= hotExtra
			e.extra[id] = nil
		} else {
			e.extra[id] = &x
		}
	}
}

// link adds id to the bonus lookups.
func (e *Engine) link(id uint32) {
	v := &e.vols[id]
	e.push(id, &e.postcodes.head[v.postcode], 0)
	if v.street != 0 {
		e.push(id, &e.streets.head[v.street], 2)
	}
}

// push puts id at the front of the list at head, chained through links[l]
// (previous) and links[l+1] (next).
func (e *Engine) push(id uint32, head *uint32, l int) {
	v := &e.vols[id]
	v.links[l], v.links[l+1] = 0, *head
	if *head != 0 {
		e.vols[*head-1].links[l] = id + 1
	}
	*head = id + 1
}

// pull takes id out of the list at head.
func (e *Engine) pull(id uint32, head *uint32, l int) {
	v := &e.vols[id]
	prev, next := v.links[l], v.links[l+1]
	if prev != 0 {
		e.vols[prev-1].links[l+1] = next
	} else {
		*head = next
	}
	if next != 0 {
		e.vols[next-1].links[l] = prev
	}
	v.links[l], v.links[l+1] = 0, 0
}

// unlink drops id from the bonus lookups and its side records.
func (e *Engine) unlink(id uint32) {
	v := &e.vols[id]
	e.pull(id, &e.postcodes.head[v.postcode], 0)
	if v.street != 0 {
		e.pull(id, &e.streets.head[v.street], 2)
	}
	e.staleSlots += int(v.nSlots)
	if x := e.extra[id]; x != nil && len(x.recent) > 0 {
		e.recentVols--
	}
	e.extra[id] = nil
}

// listOf appends the volunteers of the list at head, chained through
// links[l+1].
func (e *Engine) listOf(ids []uint32, head uint32, l int) []uint32 {
	for n := head; n != 0; n = e.vols[n-1].links[l+1] {
		ids = append(ids, n-1)
	}
	return ids
}

// repackStale repacks the arenas once half of either is stale.
func (e *Engine) repackStale() {
	if e.staleSlots > 1024 && e.staleSlots > len(e.slots)/2 {
		e.repackSlots()
	}
	if e.text.stale > 1<<16 && e.text.stale > e.text.size/2 {
		e.repackText()
	}
}

// repackText copies the live volunteers' names and display names to a
// fresh arena: the old one may still back strings handed out.
func (e *Engine) repackText() {
	var text textArena
	for i := range e.vols {
		if v := &e.vols[i]; v.live {
			e.copyText(&text, v)
		}
	}
	e.text = text
}

// repackSlots copies the live volunteers' slots to a fresh arena.
func (e *Engine) repackSlots() {
	n := 0
	for i := range e.vols {
		if e.vols[i].live {
			n += int(e.vols[i].nSlots)
		}
	}
	slots := make([]packedSlot, 0, n)
	for i := range e.vols {
		v := &e.vols[i]
		if v.live {
			off := uint32(len(slots))
			slots = append(slots, e.slotsOf(v)...)
			v.slotOff = off
		}
	}
	e.slots, e.staleSlots = slots, 0
}

func (e *Engine) slotsOf(v *volunteer) []packedSlot {
	return e.slots[v.slotOff : v.slotOff+uint32(v.nSlots)]
}

// extraOf is id's side record, or an empty one.
func (e *Engine) extraOf(id uint32) *volExtra {
	if e.hot[id].flags&hotExtra != 0 {
		return e.extra[id]
	}
	return &noExtra
}

var noExtra volExtra

// freshGrid brings the grid up to date with the pending writes. Callers
// hold the write lock.
func (e *Engine) freshGrid() {
	if len(e.pending) == 0 {
		return
	}
	if e.grid.Len() == 0 {
		slices.Sort(e.pending)
		pts := make([]gridPoint, 0, len(e.pending))
		for _, id := range slices.Compact(e.pending) {
			if v := &e.vols[id]; v.live {
				pts = append(pts, gridPoint{id: id, lat: v.lat, lng: v.lng, tag: volunteerTag(&e.hot[id])})
			}
		}
		e.grid = NewGrid(CellMetres)
		e.grid.load(pts)
		e.setOddAway()
	} else {
		for _, id := range e.pending {
			if v := &e.vols[id]; v.live {
				tag := volunteerTag(&e.hot[id])
				e.grid.upsert(id, v.lat, v.lng, tag)
				if tag&gridHistOdd == tagAway {
					e.grid.setOddAway(id, gridAwayOf(&e.hot[id]))
				}
			}
		}
	}
	// Kept for the next writes, which otherwise grew a new one from
	// nothing, an allocation each, with a search between them; but not
	// the million a store's load noted.
	if cap(e.pending) > pendingKept {
		e.pending = nil
	} else {
		e.pending = e.pending[:0]
	}
}

// pendingKept is the most room freshGrid keeps in pending.
const pendingKept = 1024

// setOddAway tells the grid, just loaded, the away days of those whose
// tag leaves only their away dates to tell "away" from "not free"
// (gridOdd.away). It walks each block's odd points in place: looking each
// up by id (Grid.setOddAway) scans its block's, and a crowd at one point
// (a postcode's centre) then cost the square of its size under the lock.
func (e *Engine) setOddAway() {
	for bi := range e.grid.hists {
		odd := e.grid.hists[bi].odd
		for i := range odd {
			if odd[i].tag&gridHistOdd == tagAway {
				e.grid.setAwayAt(uint32(bi), i, gridAwayOf(&e.hot[odd[i].id]))
			}
		}
	}
}

// gridAwayOf is gridOdd.away for h: the one span of days it is away, as
// check reads it (awayDays), away on no day (tagAway for jobs held), or
// unknown when the dates are on the side record.
func gridAwayOf(h *hotVol) [2]int32 {
	switch {
	case h.flags&hotAway == 0:
		return gridAwayNever
	case h.flags&hotSpan != 0:
		lo, hi := h.awaySpan()
		return [2]int32{lo, hi}
	}
	return gridAwayUnknown
}

// rlock takes the read lock with the grid up to date.
func (e *Engine) rlock() {
	for {
		e.mu.RLock()
		if len(e.pending) == 0 {
			return
		}
		e.mu.RUnlock()
		e.mu.Lock()
		e.freshGrid()
		e.mu.Unlock()
	}
}

// RemoveVolunteer forgets a volunteer.
func (e *Engine) RemoveVolunteer(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.ids.find(e, name)
	if !ok {
		return
	}
	e.ids.remove(e, id)
	e.unlink(id)
	e.grid.Remove(id)
	e.text.stale += e.textBytes(&e.vols[id])
	e.vols[id] = volunteer{}
	e.hot[id] = hotVol{}
	e.free = append(e.free, id)
	e.idEpoch++
	e.repackStale()
	e.dropUnused()
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
	Busy           Reason = "BUSY"
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
	zone        *time.Location // the slot's, when it is not the UK's
	recentCount int32
	recentHours int32 // the fairness window the count is over
	helped      bool
}

// Exclusion counts volunteers in reach failing one rule.
type Exclusion struct {
	Reason Reason
	Detail string
	Count  int
	// OutOfReach, of one volunteer judged by Eligible, says they live
	// beyond the request's own reach, or, for a remote request, beyond
	// the 50 km its counts take in: a search never counts them (TooFar
	// counts those in reach who do not travel so far).
	OutOfReach bool
}

// Result is a candidate search's answer.
type Result struct {
	Candidates []Candidate
	// Exclusions are filled only when fewer than the asked-for number of
	// candidates were found: that is when helpline staff need the reasons.
	Exclusions []Exclusion
	// Reach is how far the search looked, in metres (the nearest limit of
	// the request's needs); 0 for a remote request, which has none.
	Reach float64
	// reachNote is reachWords' for the request: which need holds it to
	// Reach, when another reaches farther.
	reachNote string
	// Short says that fewer than the asked-for number were found.
	Short bool
	// Holder says that a volunteer in reach, not among Candidates nor
	// counted in Exclusions, already holds the request (its offer, or its
	// assignment, which fills them): Summary then says that nobody else,
	// not that no volunteer, lives in reach.
	Holder bool
	// buf holds Candidates, lent by findBufs until Release.
	buf *searchBuf
}

// Release gives the buffer Candidates lives in back for a later search,
// which then need not grow one afresh: a caller done with the page, as
// the server is once it has copied it into its reply, saves an allocation
// of its size. Candidates is emptied, and must not be read again through
// a copy of r; releasing a copy as well does nothing more. A result never
// released costs only its garbage.
func (r *Result) Release() {
	if r.buf != nil {
		putFindBuf(r.buf)
		r.buf, r.Candidates = nil, nil
	}
}

// query is a request prepared for the rules.
type query struct {
	e            *Engine
	lat, lng     float64
	streetKey    string
	postcode     string
	streetID     uint32 // interned, 0 if no volunteer lives on the street
	postcodeID   uint32 // interned, MaxUint32 if no volunteer has it or the request has none
	remote       bool
	maxMetres    float64
	minVetting   pb.Vetting_DbsLevel
	skills       []uint32 // interned; a skill nobody has is never interned
	skillNames   []string
	skillPos     []int32 // per skills entry, its index in skillNames
	missingSkill string  // a required skill no volunteer has, if any
	missingPos   int32   // its index in skillNames
	knownBefore  bool    // a skill some volunteer has comes before it
	vettingDay   int32
	window       windowCache
	declined     []uint32 // engine ids
	tag          tagQuery
	skillMask    uint64   // the required skills, when all are below 64
	skillsSlow   bool     // a required skill is interned at 64 or above
	skillsHigh   []uint32 // those skills
	previous     []string
	now          time.Time
	// name is the request's; fixed, that it has a window, and job its
	// work in time (see busy.go).
	name  string
	fixed bool
	job   job
	place string
	// holder is the engine id, plus one, of a volunteer already holding
	// an offer of this request (StillEligible): that offer's place in
	// their capacity is theirs, not a reason to turn them away.
	holder uint32

	// reachNeeds are the needs whose limit is maxMetres, a bit for each
	// need's number (every one of them, as two at one limit both hold the
	// request there); farNeed the one that reaches farthest, farMetres,
	// which is more than maxMetres when the needs reach unalike (a lift and
	// a prescription), and the sentences then say which hold the request
	// to its reach (reachWords).
	reachNeeds uint64
	farNeed    pb.Need
	farMetres  float64
}

// startDay is the date help starts on where zone loc's volunteers live:
// a check's expiry date, like an away date, is a date on their calendar,
// and the last day it is good for ends at their midnight, not UTC's.
func (q *query) startDay(loc uint16) int32 {
	t := q.window.start
	if int(loc) < len(q.e.locList) {
		t = t.In(q.e.locList[loc])
	} else {
		t = t.UTC() // no volunteer has a zone yet
	}
	return civilDay(t.Date())
}

// holdsRoom says whether id is q's holder and would have room but for
// the offer of q they hold.
func (e *Engine) holdsRoom(q *query, id uint32) bool {
	v := &e.vols[id]
	return q.holder == id+1 && v.active+v.pending-1 < v.capacity
}

// ErrNoWindow is returned for a request without a window or deadline.
var ErrNoWindow = errors.New("matcher: request has no window or deadline")

// prepare turns a request into a query. Callers hold the read lock.
func (e *Engine) prepare(r *pb.HelpRequest, previousHelpers []string, now time.Time) (*query, error) {
	q := new(query)
	if err := e.prepareInto(q, r, previousHelpers, now); err != nil {
		return nil, err
	}
	return q, nil
}

// prepareInto is prepare into q, all of which it sets: FindCandidates'
// query is its pooled buffer's, where one of its own was 700 of the
// bytes a call allocated.
func (e *Engine) prepareInto(q *query, r *pb.HelpRequest, previousHelpers []string, now time.Time) error {
	ll := r.GetLocation().GetLatLng()
	if ll == nil || !geo.IsPlace(ll.Latitude, ll.Longitude) {
		// A NaN distance is beyond no limit: Eligible would pass anyone.
		// At 0, 0 anyone stored there too would be 0 m away.
		return ErrNoLocation
	}
	*q = query{
		// Rounded as the grid rounds homes: a volunteer placed at the
		// request's own coordinates (server.qualified) is then 0 m away,
		// as the raw coordinates would put them.
		lat: gridStored(ll.Latitude), lng: gridStored(ll.Longitude),
		streetKey: geo.StreetKey(r.GetLocation().GetStreet()),
		postcode:  r.GetLocation().GetPostcode(),
		remote:    Remote(r),

		previous: previousHelpers,
		now:      now,
	}
	q.postcodeID = math.MaxUint32
	if q.postcode != "" {
		// Not "": that is the number of the volunteers without a
		// postcode, who share none with a request without one, and whom
		// bonusHolders would otherwise draw in from anywhere.
		q.postcodeID = e.postcodes.lookup(q.postcode, math.MaxUint32)
	}
	if q.streetKey != "" {
		q.streetID = e.streets.lookup(streetIndexKey(q.streetKey, q.postcode), 0)
	}
	switch {
	case r.GetWindow() != nil:
		q.window.start, q.window.end = r.GetWindow().GetStartTime().AsTime(), r.GetWindow().GetEndTime().AsTime()
	case r.GetDeadline() != nil:
		q.window.start, q.window.end = now, r.GetDeadline().AsTime()
	default:
		return ErrNoWindow
	}
	if q.window.start.Before(now) {
		q.window.start = now // help can only happen from now on
	}
	q.name, q.fixed, q.place = r.Name, r.GetWindow() != nil, jobPlace(r)
	if q.fixed {
		q.job = e.jobOf(q.window.start, q.window.end, r.Needs)
	}
	q.maxMetres = math.Inf(1)
	// A request names a few skills: a map to spot repeats only for many.
	var seen map[string]bool
	addSkill := func(s string) {
		if seen == nil && len(q.skillNames) < 16 {
			if !slices.Contains(q.skillNames, s) {
				q.skillNames = append(q.skillNames, s)
			}
			return
		}
		if seen == nil {
			seen = make(map[string]bool, 2*len(q.skillNames))
			for _, n := range q.skillNames {
				seen[n] = true
			}
		}
		if !seen[s] {
			seen[s] = true
			q.skillNames = append(q.skillNames, s)
		}
	}
	for _, n := range r.Needs {
		rule, ok := e.cfg.Needs[n]
		if !ok {
			rule = e.cfg.Needs[pb.Need_NEED_OTHER]
		}
		if rule.MaxMetres > 0 {
			switch {
			case rule.MaxMetres < q.maxMetres:
				q.reachNeeds = needBit(n)
			case rule.MaxMetres == q.maxMetres:
				q.reachNeeds |= needBit(n)
			}
			if rule.MaxMetres > q.farMetres {
				q.farNeed, q.farMetres = n, rule.MaxMetres
			}
			q.maxMetres = math.Min(q.maxMetres, rule.MaxMetres)
		}
		q.minVetting = max(q.minVetting, rule.MinVetting)
		for _, s := range rule.Skills {
			addSkill(s)
		}
	}
	if r.EntersHome {
		q.minVetting = max(q.minVetting, e.cfg.EntersHomeVetting)
	}
	for _, s := range r.RequiredSkills {
		addSkill(s)
	}
	type named struct {
		id  uint32
		pos int32
	}
	var interned []named
	for i, s := range q.skillNames {
		id, ok := e.tags[s]
		if !ok {
			if q.missingSkill == "" {
				q.missingSkill, q.missingPos = s, int32(i)
			}
			continue
		}
		interned = append(interned, named{id, int32(i)})
	}
	for _, n := range interned {
		q.knownBefore = q.knownBefore || q.missingSkill != "" && n.pos < q.missingPos
	}
	slices.SortFunc(interned, func(a, b named) int { return int(a.id) - int(b.id) })
	for _, n := range interned {
		q.skills = append(q.skills, n.id)
		q.skillPos = append(q.skillPos, n.pos)
	}
	for _, id := range q.skills {
		if id < 64 {
			q.skillMask |= 1 << id
		} else {
			q.skillsSlow = true
			q.skillsHigh = append(q.skillsHigh, id)
		}
	}
	for _, name := range r.DeclinedVolunteers {
		if id, ok := e.ids.find(e, name); ok {
			q.declined = append(q.declined, id)
		}
	}
	q.e, q.window.engine = e, e
	if q.remote {
		q.maxMetres = math.Inf(1)
	}
	q.vettingDay = q.startDay(0)
	e.prepareTag(q)
	return nil
}

// reasonCode is a Reason as an index, in rule order; a search counts
// exclusions by it (and a detail index) rather than by strings.
type reasonCode uint8

const (
	rTooFar reasonCode = iota
	rPaused
	rDeclined
	rAtCapacity
	rMissingSkill
	rVetting
	rAway
	rNotAvailable
	rBusy
	numReasons
)

var reasonOfCode = [numReasons]Reason{TooFar, Paused, DeclinedBefore, AtCapacity, MissingSkill, Vetting, Away, NotAvailable, Busy}

// detail names what a failed rule lacked: det indexes skillNames for a
// missing skill.
func (q *query) detail(why reasonCode, det int32) string {
	switch why {
	case rMissingSkill:
		return q.skillNames[det]
	case rVetting:
		// "basic" or "enhanced"
		return strings.ToLower(strings.TrimPrefix(q.minVetting.String(), "DBS_LEVEL_"))
	}
	return ""
}

// lackingPos is the skillNames index of interned skill id, one of q.skills.
func (q *query) lackingPos(id uint32) int32 {
	i, _ := slices.BinarySearch(q.skills, id)
	return q.skillPos[i]
}

// firstLacking is the skillNames index of the first skill, in the
// request's order, of a volunteer who lacks the interned skills in lacking
// (bit i: id i) and the one nobody has (missingSkill), if any; -1 if none.
// Not the lowest id: ids follow the order the engine met the skills in,
// which a restart changes, and the reason counted must not change with it.
func (q *query) firstLacking(lacking uint64) int32 {
	pos := int32(-1)
	if q.missingSkill != "" {
		pos = q.missingPos
	}
	for ; lacking != 0; lacking &= lacking - 1 {
		if p := q.lackingPos(uint32(bits.TrailingZeros64(lacking))); pos < 0 || p < pos {
			pos = p
		}
	}
	return pos
}

// check applies the rules in order; det indexes the detail (see
// query.detail). It reads the packed record first and the full one only
// when it must.
func (e *Engine) check(q *query, id uint32, metres float64) (ok bool, why reasonCode, det int32, at slot) {
	h := &e.hot[id]
	var span [1][2]int32 // room for awayDays
	switch {
	case !q.remote && metres > float64(h.maxMetres):
		return false, rTooFar, 0, slot{}
	case h.flags&hotPaused != 0:
		return false, rPaused, 0, slot{}
	case len(q.declined) > 0 && slices.Contains(q.declined, id):
		return false, rDeclined, 0, slot{}
	case h.flags&hotFull != 0 && !e.holdsRoom(q, id):
		return false, rAtCapacity, 0, slot{}
	case q.missingSkill != "" && !q.knownBefore:
		return false, rMissingSkill, q.missingPos, slot{}
	}
	pos := q.firstLacking(q.skillMask &^ h.skills)
	if q.skillsSlow {
		have := e.extraOf(id).skillsHigh
		for _, s := range q.skillsHigh {
			if _, ok := slices.BinarySearch(have, s); ok {
				continue
			}
			if p := q.lackingPos(s); pos < 0 || p < pos {
				pos = p
			}
		}
	}
	if pos >= 0 {
		return false, rMissingSkill, pos, slot{}
	}
	lapses := false // the check runs out before the window ends
	if q.minVetting > pb.Vetting_DBS_LEVEL_NONE {
		level := pb.Vetting_DbsLevel(h.vetting)
		if h.vettingUntil != math.MaxInt32 {
			day := q.vettingDay
			if h.loc != 0 {
				day = q.startDay(h.loc)
			}
			if day > h.vettingUntil {
				level = pb.Vetting_DBS_LEVEL_NONE
			} else if p := q.window.for_(h.loc); len(p) > 0 && p[len(p)-1].day > h.vettingUntil {
				lapses = true
			}
		}
		if level < q.minVetting {
			return false, rVetting, 0, slot{}
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
		if wm[d]&h.week[d]&hotHours != 0 {
			overlap = true
			break
		}
	}
	switch {
	case !overlap && h.flags&hotAway == 0:
		return false, rNotAvailable, 0, slot{}
	case overlap && h.flags&(hotAway|hotUneven|hotBusy) == 0 && !lapses:
		return true, 0, 0, slot{}
	case !overlap:
		// Free in no slot: only the away dates are left to read, not the
		// record and slots, which would cost a search a cache miss apiece.
		if awayThroughout(e.awayDays(id, &span), q.window.for_(h.loc)) {
			return false, rAway, 0, slot{}
		}
		return false, rNotAvailable, 0, slot{}
	case h.flags&hotSpan != 0 && awayThroughout(e.awayDays(id, &span), q.window.for_(h.loc)):
		// Away every day the window touches, as the packed record shows:
		// availability would say so too, but only after reading the record
		// and the slots, two more cache misses.
		return false, rAway, 0, slot{}
	}
	free, away, at := e.availability(id, &q.window, h.loc, math.MaxInt32)
	if free && lapses {
		// Free only once the check has run out is no better than having
		// none: they would go on a day it no longer vouches for them.
		free, _, at = e.availability(id, &q.window, h.loc, h.vettingUntil)
		if !free {
			return false, rVetting, 0, slot{}
		}
	}
	switch {
	case away:
		return false, rAway, 0, slot{}
	case !free:
		return false, rNotAvailable, 0, slot{}
	case h.flags&hotBusy != 0 && q.fixed && e.busy(q, id):
		return false, rBusy, 0, slot{}
	}
	return true, 0, 0, at
}

// Compact renumbers the volunteers so that neighbours on the ground are
// neighbours in memory (in Z-order of their position), then rebuilds the
// grid and lookups. A search reads the packed record of every volunteer it
// passes; after Compact those reads mostly hit memory already cached.
// Call it after loading many volunteers; later additions go at the end.
func (e *Engine) Compact() {
	e.mu.Lock()
	defer e.mu.Unlock()
	live := make([]zKeyed, 0, e.ids.len())
	for id := range e.vols {
		if v := &e.vols[id]; v.live {
			live = append(live, zKeyed{zOrder(v.lat, v.lng), uint32(id)})
		}
	}
	sortZ(live)
	// Every id gets a new place: the live ones in Z-order, the others
	// after them, to be cut off.
	to := make([]uint32, len(e.vols))
	for i, k := range live {
		to[k.id] = uint32(i)
	}
	next := uint32(len(live))
	for id := range e.vols {
		if !e.vols[id].live {
			to[id] = next
			next++
		}
	}
	e.ids.renumber(to)
	e.permute(to)
	n := len(live)
	clear(e.vols[n:])
	clear(e.extra[n:])
	e.vols, e.hot, e.extra = e.vols[:n], e.hot[:n], e.extra[:n]
	// The slots are copied out in the new order on another goroutine while
	// the grid and lookups are rebuilt: each side writes fields the other
	// does not read, and at start the load waits on Compact with a
	// processor otherwise idle.
	repacked := make(chan []packedSlot)
	var text textArena
	go func() {
		nslots := 0
		for i := range e.vols {
			nslots += int(e.vols[i].nSlots)
		}
		slots := make([]packedSlot, 0, nslots)
		for i := range e.vols {
			v := &e.vols[i]
			off := uint32(len(slots))
			slots = append(slots, e.slotsOf(v)...)
			v.slotOff = off
			e.copyText(&text, v)
		}
		repacked <- slots
	}()
	pts := make([]gridPoint, n)
	for i := range e.vols {
		v := &e.vols[i]
		pts[i] = gridPoint{id: uint32(i), lat: v.lat, lng: v.lng, tag: volunteerTag(&e.hot[i])}
	}
	e.free, e.pending = nil, nil
	e.idEpoch++
	e.grid = NewGrid(CellMetres)
	e.grid.load(pts)
	e.setOddAway()
	clear(e.postcodes.head)
	clear(e.streets.head)
	// Linked from the last, so that each list runs in id order.
	for i := len(e.vols) - 1; i >= 0; i-- {
		e.link(uint32(i))
	}
	e.slots, e.staleSlots = <-repacked, 0
	e.text = text
}

// permute moves each id's records to to[id], in place, following each
// cycle of the permutation; to is used up. Copying them to fresh arrays
// instead, as Compact once did, took 0.46 s of a 1M-volunteer start, most
// of it in the first touch of 150 MB of fresh memory, which on a VM costs
// more than the moves themselves.
func (e *Engine) permute(to []uint32) {
	for i := range to {
		for j := to[i]; j != uint32(i); j = to[i] {
			e.vols[i], e.vols[j] = e.vols[j], e.vols[i]
			e.hot[i], e.hot[j] = e.hot[j], e.hot[i]
			e.extra[i], e.extra[j] = e.extra[j], e.extra[i]
			to[i], to[j] = to[j], j
		}
	}
}

// zKeyed is an index with its Z-order key (zOrder).
type zKeyed struct {
	key uint64
	id  uint32
}

// sortZ sorts by key, the index breaking ties, given pairs in index
// order (as both callers build them): a stable radix sort of the keys, a
// byte at a time, skipping the bytes every key shares. Sorting the pairs
// with a comparison took 0.2-0.3 s of a 1M-volunteer start, on the one
// processor Compact runs on; the radix sort reads and moves them a few
// times over instead. Short inputs are sorted by comparison.
func sortZ(ks []zKeyed) {
	if len(ks) < 1024 {
		slices.SortFunc(ks, compareZ)
		return
	}
	var counts [8][256]int
	for _, k := range ks {
		for b := range counts {
			counts[b][byte(k.key>>(8*b))]++
		}
	}
	src, dst := ks, make([]zKeyed, len(ks))
	for b := range counts {
		c := &counts[b]
		if c[byte(src[0].key>>(8*b))] == len(src) {
			continue // every key has this byte
		}
		sum := 0
		for i, n := range c {
			c[i], sum = sum, sum+n
		}
		for _, k := range src {
			d := byte(k.key >> (8 * b))
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &ks[0] {
		copy(ks, src)
	}
}

func compareZ(a, b zKeyed) int {
	switch {
	case a.key < b.key:
		return -1
	case a.key > b.key:
		return 1
	}
	return int(a.id) - int(b.id)
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
