package matcher

import (
	"math"
	"math/bits"
	"slices"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A volunteer's tag is 32 bits of its packed record, stored beside its
// position in the grid. A search reads the grid's cells anyway; most of the
// volunteers it passes are not eligible (typically 85%, nearly all when a
// request falls at night), and the tag proves that, with the exact reason
// the rules would give, for most of them, so that the packed record, a
// cache miss apiece on a large engine, is read only for the rest.
//
// The tag is a function of the packed record alone (volunteerTag), and a
// verdict from it is either the rules' own (same reason and detail) or
// "undecided": it never guesses.
const (
	tagDaysShift  = 0  // 7 bits: weekdays with a slot
	tagFirstShift = 7  // 5 bits: the earliest hour any slot touches
	tagLastShift  = 12 // 5 bits: the latest hour any slot touches
	tagVetShift   = 17 // 2 bits: vetting level, capped at 3
	tagExpires    = 1 << 19
	tagPaused     = 1 << 20
	tagFull       = 1 << 21
	tagAway       = 1 << 22
	tagOtherZone  = 1 << 23 // not in the engine's first time zone
	tagReachShift = 24      // 3 bits: a class of maxMetres (tagReach)
	tagSkillShift = 27      // 4 bits: skills interned 0..3
	tagSkillBits  = 4
	tagReachExact = 1 << 31 // maxMetres is exactly its class's bound
)

// tagReach are the lower bounds of the reach classes: a volunteer in class
// c can go at least tagReach[c] metres. The common limits are bounds
// themselves, so that for them the tag decides TOO_FAR both ways.
var tagReach = [8]float64{math.Inf(-1), 500, 1000, 1500, 2000, 3000, 5000, 8000}

// tagReachDegSq are the squares of tagReach in degrees of latitude, a
// little short, so that a point whose distance bound (in squared degrees,
// as a grid search computes it) is within one is surely within that many
// metres; -1 for the first class, which nothing is surely within.
var tagReachDegSq = func() (sq [8]float64) {
	for c, m := range tagReach {
		sq[c] = -1
		if m > 0 {
			d := m * (1 - 1e-9) / gridMetresPerDeg
			sq[c] = d * d * (1 - 1e-9)
		}
	}
	return sq
}()

// tagBeyondDegSq are the squares of tagReach in degrees of latitude, a
// little long, so that a point whose lower distance bound (in squared
// degrees, as a grid search computes it) exceeds one is surely beyond that
// many metres; +Inf for the first class, which nothing is surely beyond.
var tagBeyondDegSq = func() (sq [8]float64) {
	for c, m := range tagReach {
		sq[c] = math.Inf(1)
		if m > 0 {
			d := m * (1 + 1e-9) / gridMetresPerDeg
			sq[c] = d * d * (1 + 1e-9)
		}
	}
	return sq
}()

// volunteerTag packs what the tag verdict needs from h.
func volunteerTag(h *hotVol) uint32 {
	var t uint32
	var union uint32
	for d, m := range h.week {
		if m &= hotHours; m != 0 {
			t |= 1 << (tagDaysShift + d)
			union |= m
		}
	}
	if union != 0 {
		t |= uint32(bits.TrailingZeros32(union)) << tagFirstShift
		t |= uint32(31-bits.LeadingZeros32(union)) << tagLastShift
	}
	t |= uint32(min(h.vetting, 3)) << tagVetShift
	if h.vettingUntil != math.MaxInt32 {
		t |= tagExpires
	}
	if h.flags&hotPaused != 0 {
		t |= tagPaused
	}
	if h.flags&hotFull != 0 {
		t |= tagFull
	}
	if h.flags&(hotAway|hotBusy) != 0 { // the full record decides
		t |= tagAway
	}
	if h.loc != 0 {
		t |= tagOtherZone
	}
	reach := float64(h.maxMetres)
	c := 0
	for i := len(tagReach) - 1; i > 0; i-- {
		if tagReach[i] <= reach {
			c = i
			break
		}
	}
	t |= uint32(c) << tagReachShift
	if reach == tagReach[c] {
		t |= tagReachExact
	}
	t |= uint32(h.skills&(1<<tagSkillBits-1)) << tagSkillShift
	return t
}

// tagQuery is what a query needs to judge tags, prepared once.
type tagQuery struct {
	skills    uint32 // required skills, as tag bits
	skillsOK  bool   // every required skill has a tag bit
	vettingOK bool   // the required level fits the tag's two bits
	wm0       [7]uint32
	wmAny     uint32 // the union of wm0: a span missing it misses every day
	wmOK      bool   // wm0 holds the window's hours in the first time zone
}

func (e *Engine) prepareTag(q *query) {
	t := &q.tag
	t.skillsOK = true
	for _, id := range q.skills {
		if id >= tagSkillBits {
			t.skillsOK = false
			break
		}
		t.skills |= 1 << id
	}
	t.vettingOK = q.minVetting <= 3
	if len(e.locList) > 0 {
		t.wm0 = *q.window.mask(0)
		for _, m := range t.wm0 {
			t.wmAny |= m
		}
		t.wmOK = true
	}
}

// tagVerdict judges volunteer id from its tag: decided reports whether the
// tag settles it, and then it is not eligible, failing rule why with detail
// det, exactly as check would say.
func (q *query) tagVerdict(id, tag uint32, metres float64) (decided bool, why reasonCode, det int32) {
	if !q.remote && metres > tagReach[tag>>tagReachShift&7] {
		if tag&tagReachExact != 0 {
			return true, rTooFar, 0
		}
		return false, 0, 0
	}
	return q.tagRules(id, tag)
}

// tagRejects reports whether the tag alone shows that volunteer id cannot
// be eligible, for a point whose squared distance, in degrees of latitude
// as a grid search reckons it, is at least loDegSq if it is within the
// search's reach at all. Which rule fails does not matter here: a
// volunteer who fails tagRules is out whatever their distance, and so is
// one with away dates whose hours miss the window (awayMissesHours).
func (q *query) tagRejects(id, tag uint32, loDegSq float64) bool {
	if !q.remote && tag&tagReachExact != 0 && loDegSq > tagBeyondDegSq[tag>>tagReachShift&7] {
		return true
	}
	decided, _, _ := q.tagRules(id, tag)
	return decided || tag&(tagAway|tagOtherZone) == tagAway && q.awayMissesHours(tag)
}

// awayMissesHours reports whether the window touches none of the hours
// of a volunteer in the first time zone with tagAway set: they are then
// not eligible, away or not. tagRules leaves such a tag undecided, as
// which of the two rules they fail (away, or not free) needs their dates,
// and a sweep counts by rule; a search only asks whether they can help.
// In the evening, when few are free, the away were a sixth of the records
// a long search read, only for check to turn them away.
func (q *query) awayMissesHours(tag uint32) bool {
	if !q.tag.wmOK {
		return false
	}
	span := tagSpan(tag)
	if span&q.tag.wmAny == 0 {
		return true
	}
	for days := tag >> tagDaysShift & 127; days != 0; days &= days - 1 {
		if q.tag.wm0[bits.TrailingZeros32(days)]&span != 0 {
			return false
		}
	}
	return true
}

// eligible applies the rules to volunteer id at metres: the tag first,
// as a search does until it has k (tagRejects), so that the records are
// read only for those the tag leaves undecided.
//
// tagged says a search has judged the tag already (tagRejects, which
// looked at a lower bound of the distance, not at metres) and it left the
// volunteer undecided: the rules need not be judged by it again.
func (q *query) eligible(id, tag uint32, metres float64, tagged bool) bool {
	if !q.remote && tag&tagReachExact != 0 && metres > tagReach[tag>>tagReachShift&7] {
		return false
	}
	if !tagged {
		if decided, _, _ := q.tagRules(id, tag); decided {
			return false
		}
	}
	ok, _, _, _ := q.e.check(q, id, metres)
	return ok
}

// tagRules is tagVerdict for a volunteer known to be within their own
// distance limit.
func (q *query) tagRules(id, tag uint32) (decided bool, why reasonCode, det int32) {
	switch {
	case tag&tagPaused != 0:
		return true, rPaused, 0
	case len(q.declined) > 0 && slices.Contains(q.declined, id):
		return true, rDeclined, 0
	case tag&tagFull != 0:
		return true, rAtCapacity, 0
	case q.missingSkill != "" && !q.knownBefore:
		return true, rMissingSkill, q.missingPos
	case !q.tag.skillsOK:
		return false, 0, 0
	}
	if pos := q.firstLacking(uint64(q.tag.skills &^ (tag >> tagSkillShift))); pos >= 0 {
		return true, rMissingSkill, pos
	}
	if q.minVetting > pb.Vetting_DBS_LEVEL_NONE {
		switch {
		case !q.tag.vettingOK:
			return false, 0, 0
		case pb.Vetting_DbsLevel(tag>>tagVetShift&3) < q.minVetting:
			// An expired check only lowers the level.
			return true, rVetting, 0
		case tag&tagExpires != 0:
			return false, 0, 0
		}
	}
	if tag&(tagAway|tagOtherZone) != 0 || !q.tag.wmOK {
		return false, 0, 0
	}
	// The hours any slot touches lie between the first and the last: a
	// window touching none of them on a day with a slot overlaps no slot.
	// Most windows that miss, miss on every day (at night).
	span := tagSpan(tag)
	if span&q.tag.wmAny == 0 {
		return true, rNotAvailable, 0
	}
	for days := tag >> tagDaysShift & 127; days != 0; days &= days - 1 {
		if q.tag.wm0[bits.TrailingZeros32(days)]&span != 0 {
			return false, 0, 0
		}
	}
	return true, rNotAvailable, 0
}

// tagSpan is the hours from the tag's first to its last, as a mask.
func tagSpan(tag uint32) uint32 {
	first, last := tag>>tagFirstShift&31, tag>>tagLastShift&31
	return uint32(1)<<(last+1) - uint32(1)<<first
}

// hopeless reports whether nobody a block's aggregate covers can be
// eligible: every rule it tests is one a volunteer must pass, and the
// aggregate claims at least what its points have (gridAgg), so a search
// that passes over such a block finds exactly what it would have found.
func (q *query) hopeless(a *gridAgg) bool {
	switch {
	case !a.live, q.missingSkill != "":
		return true
	case q.tag.skillsOK && q.tag.skills&^uint32(a.skills) != 0:
		return true
	case q.minVetting > pb.Vetting_DBS_LEVEL_NONE && q.tag.vettingOK && pb.Vetting_DbsLevel(a.vet) < q.minVetting:
		return true // an expired check only lowers the level
	case a.other || !q.tag.wmOK:
		return false
	}
	for d, m := range q.tag.wm0 {
		if m&a.hours[d] != 0 {
			return false
		}
	}
	return true
}

// tagTable is tagRules as tables, for a sweep that judges thousands of
// tags against one query (count.go). A sweep spends its time on
// mispredicted branches more than on memory: each rule tagRules tests is
// a coin toss from one volunteer to the next. Here the rules before
// availability depend on three fields of the tag (the flags, the skill
// bits, the vetting bits), each looked up; availability is one more
// lookup (the window's hours on the tag's days) and a test; and the
// earliest rule failed is the least of four codes (tagCode).
type tagTable struct {
	usable bool // false when the query names declined volunteers, or very many skills: use tagRules
	flags  [16]uint16
	skills [16]uint16
	vet    [8]uint16
	// dayHours is, per set of weekdays, the hours the window touches on
	// any of them.
	dayHours [128]uint32
	// notFree and unsure are the availability codes for a tag whose hours
	// the window misses, and for one it may not.
	notFree, unsure uint16
}

// A tagCode is a rule's place in the order, doubled, plus one when the
// tag settles it (zero when the record must be read, so that of two codes
// for one rule the unsettled wins), in the high byte, and where a settled
// exclusion is counted (tagSlot) in the low byte: the least of a tag's
// codes is then its verdict. tagPass passes every rule of a field.
type tagCode = uint16

const (
	tagSettled tagCode = 1 << 8
	tagPass    tagCode = 0xffff
)

// tagSlot is where a sweep counts an exclusion: the reason's code, or
// for a missing skill tagSkillSlot plus its index in the query's skill
// names.
const tagSkillSlot = int(numReasons)

func tagDecided(why reasonCode, slot int) tagCode {
	return tagCode(why)<<9 | tagSettled | tagCode(slot)
}

func tagUndecided(why reasonCode) tagCode {
	return tagCode(why) << 9
}

// table builds q's tagTable.
func (q *query) table() (tt tagTable) {
	if len(q.declined) > 0 || tagSkillSlot+len(q.skillNames) > 256 {
		return tt
	}
	tt.usable = true
	for f := range tt.flags {
		tag := uint32(f) << 20
		switch {
		case tag&tagPaused != 0:
			tt.flags[f] = tagDecided(rPaused, int(rPaused))
		case tag&tagFull != 0:
			tt.flags[f] = tagDecided(rAtCapacity, int(rAtCapacity))
		case tag&(tagAway|tagOtherZone) != 0:
			tt.flags[f] = tagUndecided(rNotAvailable)
		default:
			tt.flags[f] = tagPass
		}
	}
	for s := range tt.skills {
		switch pos := q.firstLacking(uint64(q.tag.skills &^ uint32(s))); {
		case q.missingSkill != "" && !q.knownBefore:
			tt.skills[s] = tagDecided(rMissingSkill, tagSkillSlot+int(q.missingPos))
		case !q.tag.skillsOK:
			tt.skills[s] = tagUndecided(rMissingSkill)
		case pos >= 0:
			tt.skills[s] = tagDecided(rMissingSkill, tagSkillSlot+int(pos))
		default:
			tt.skills[s] = tagPass
		}
	}
	for v := range tt.vet {
		tag := uint32(v) << tagVetShift
		switch {
		case q.minVetting <= pb.Vetting_DBS_LEVEL_NONE:
			tt.vet[v] = tagPass
		case !q.tag.vettingOK:
			tt.vet[v] = tagUndecided(rVetting)
		case pb.Vetting_DbsLevel(tag>>tagVetShift&3) < q.minVetting:
			tt.vet[v] = tagDecided(rVetting, int(rVetting))
		case tag&tagExpires != 0:
			tt.vet[v] = tagUndecided(rVetting)
		default:
			tt.vet[v] = tagPass
		}
	}
	tt.notFree, tt.unsure = tagDecided(rNotAvailable, int(rNotAvailable)), tagUndecided(rNotAvailable)
	if !q.tag.wmOK {
		tt.notFree = tt.unsure
	}
	for days := 1; days < len(tt.dayHours); days++ {
		tt.dayHours[days] = tt.dayHours[days&(days-1)] | q.tag.wm0[bits.TrailingZeros(uint(days))]
	}
	return tt
}

// code is tagRules by the tables, as a tagCode; tt must be usable.
func (tt *tagTable) code(tag uint32) tagCode {
	a := tt.notFree
	// The hours any slot touches lie between the first and the last: a
	// window touching none of them on a day with a slot overlaps no slot.
	if tt.dayHours[tag>>tagDaysShift&127]&tagSpan(tag) != 0 {
		a = tt.unsure
	}
	return min(tt.flags[tag>>20&15], tt.skills[tag>>tagSkillShift&(1<<tagSkillBits-1)], tt.vet[tag>>tagVetShift&7], a)
}

// rules is code as tagRules answers.
func (tt *tagTable) rules(q *query, tag uint32) (decided bool, why reasonCode, det int32) {
	c := tt.code(tag)
	if c == tagPass || c&tagSettled == 0 {
		return false, 0, 0
	}
	why = reasonCode(c >> 9)
	if why == rMissingSkill {
		det = int32(int(c&0xff) - tagSkillSlot)
	}
	return true, why, det
}
