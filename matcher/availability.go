package matcher

import (
	"fmt"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// slot is a weekly period in the volunteer's wall-clock minutes.
type slot struct {
	day      uint8 // a time.Weekday
	from, to int16 // minutes since local midnight, from < to <= 1440
}

// packedSlot is a slot as the engine's arena keeps it, in 4 bytes where a
// slot takes 6: a million volunteers hold some 4.7 million slots. The
// weekday is bits 0-2, from bits 3-13, to bits 14-24.
type packedSlot uint32

// pack packs s, whose minutes must lie in 0..1440.
func (s slot) pack() packedSlot {
	return packedSlot(uint32(s.day&7) | uint32(s.from)<<3 | uint32(s.to)<<14)
}

func (p packedSlot) slot() slot {
	return slot{day: uint8(p & 7), from: int16(p >> 3 & 0x7ff), to: int16(p >> 14 & 0x7ff)}
}

func (p packedSlot) day() uint8 { return uint8(p & 7) }

// piece is part of a request's window as seen on one local day in one time
// zone: a wall-clock range on a calendar day.
type piece struct {
	day      int32 // days since 1970-01-01, the local calendar date
	weekday  time.Weekday
	from, to int16
}

// civilDay numbers calendar dates so that ranges compare as integers.
func civilDay(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// maxPieces bounds the work for one window: 90 days of local dates plus
// the clock changes within them.
const maxPieces = 200

// appendWindowPieces cuts [start, end) at local midnights and at clock
// changes, so that within each piece the wall clock runs evenly, and
// appends the pieces to out, which is empty. A slot's wall-clock minutes
// can then be compared directly, and the hour skipped in spring or
// repeated in autumn is neither invented nor lost.
func appendWindowPieces(out []piece, start, end time.Time, loc *time.Location) []piece {
	// Each turn moves cur on, to a midnight or a clock change; the count
	// bounds the loop even if a zone's rules ever defeat that.
	for cur, turns := start, 0; cur.Before(end) && len(out) < maxPieces && turns < 2*maxPieces; turns++ {
		lt := cur.In(loc)
		y, m, d := lt.Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		// Where the clocks change at midnight (Chile, Cuba, the Azores),
		// the next midnight may never happen, and time.Date then gives an
		// instant at or before cur: the day ends at the change instead.
		if _, zoneEnd := lt.ZoneBounds(); !zoneEnd.IsZero() && (zoneEnd.Before(next) || !next.After(cur)) {
			next = zoneEnd
		}
		if end.Before(next) {
			next = end
		}
		if !next.After(cur) {
			break
		}
		from := lt.Hour()*60 + lt.Minute()
		// The minutes touched: from the start of cur's minute to the end
		// of the one next falls in, unless next is on a minute.
		into := time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
		to := from + int((into+next.Sub(cur)+time.Minute-1)/time.Minute)
		if to > 1440 {
			to = 1440
		}
		if to > from {
			out = append(out, piece{day: civilDay(y, m, d), weekday: lt.Weekday(), from: int16(from), to: int16(to)})
		}
		cur = next
	}
	return out
}

// windowCache holds a request's pieces per time zone; nearly every
// volunteer shares one zone, so this is computed once or twice per request.
type windowCache struct {
	start, end time.Time
	engine     *Engine
	locs       []uint16
	pieces     [][]piece
	masks      [][7]uint32 // per weekday, bit h: the window touches hour h
	// Room for the first zone's, which is all most requests need, so that
	// preparing one allocates less.
	locs1   [1]uint16
	pieces1 [1][]piece
	masks1  [1][7]uint32
	piece1  [4]piece
}

func (w *windowCache) index(loc uint16) int {
	for i, l := range w.locs {
		if l == loc {
			return i
		}
	}
	var p []piece
	if w.locs == nil {
		w.locs, w.pieces, w.masks = w.locs1[:0], w.pieces1[:0], w.masks1[:0]
		p = w.piece1[:0]
	}
	p = appendWindowPieces(p, w.start, w.end, w.engine.locList[loc])
	var m [7]uint32
	for _, pc := range p {
		for h := pc.from / 60; h <= (pc.to-1)/60 && h < 24; h++ {
			m[pc.weekday] |= 1 << h
		}
	}
	w.locs = append(w.locs, loc)
	w.pieces = append(w.pieces, p)
	w.masks = append(w.masks, m)
	return len(w.locs) - 1
}

func (w *windowCache) mask(loc uint16) *[7]uint32 { return &w.masks[w.index(loc)] }

func (w *windowCache) for_(loc uint16) []piece { return w.pieces[w.index(loc)] }

// availability says whether volunteer id is free during the window, and
// if not, whether being away is why: every day the window touches is an
// away day, or a slot would have overlapped it on a day they are away (a
// Tuesday volunteer away this Tuesday, for a window from Monday to
// Wednesday, is away, not busy). When free, it returns the first slot
// overlapping a day they are not away. Only the window's days up to until
// (a civil day, as piece.day) count: those a DBS check the request needs
// still covers.
func (e *Engine) availability(id uint32, w *windowCache, loc uint16, until int32) (free bool, away bool, at slot) {
	pieces := w.for_(loc)
	slots := e.slotsOf(&e.vols[id])
	var span [1][2]int32
	awayDays := e.awayDays(id, &span)
	anyPresent, missed := false, false
	for _, p := range pieces {
		if p.day > until {
			break // pieces run in time order
		}
		gone := awayOn(awayDays, p.day)
		if gone && missed {
			continue
		}
		anyPresent = anyPresent || !gone
		for _, ps := range slots {
			if s := ps.slot(); time.Weekday(s.day) == p.weekday && s.from < p.to && p.from < s.to {
				if !gone {
					return true, false, s
				}
				missed = true
				break
			}
		}
	}
	return false, missed || !anyPresent && len(pieces) > 0, slot{}
}

// awayDays is volunteer id's away dates: from the packed record, in span,
// when they are one span of days (hotSpan), else from the side record.
func (e *Engine) awayDays(id uint32, span *[1][2]int32) [][2]int32 {
	if h := &e.hot[id]; h.flags&hotSpan != 0 {
		lo, hi := h.awaySpan()
		span[0] = [2]int32{lo, hi}
		return span[:]
	}
	return e.extraOf(id).away
}

// awayThroughout reports whether every day of the window's pieces falls
// in an away range, as availability's away does.
func awayThroughout(away [][2]int32, pieces []piece) bool {
	for _, p := range pieces {
		if !awayOn(away, p.day) {
			return false
		}
	}
	return len(pieces) > 0
}

func awayOn(away [][2]int32, day int32) bool {
	for _, a := range away {
		if day >= a[0] && day <= a[1] {
			return true
		}
	}
	return false
}

// AwayThroughout reports whether av's away dates take in every day that
// [start, end) touches, as the days fall in av's time zone (the UK's when
// it names none): whether someone away so could do no part of a job in
// that time. It is false for an empty or inverted span.
func AwayThroughout(av *pb.Availability, start, end time.Time) (bool, error) {
	if len(av.GetAway()) == 0 || !start.Before(end) {
		return false, nil
	}
	name := av.GetTimeZone()
	if name == "" {
		name = defaultZone
	}
	loc, err := loadZone(name)
	if err != nil {
		return false, fmt.Errorf("matcher: time zone %q: %w", name, err)
	}
	away := make([][2]int32, 0, len(av.GetAway()))
	for _, r := range av.GetAway() {
		away = append(away, [2]int32{dateOf(r.GetStartDate()).civil(), dateOf(r.GetEndDate()).civil()})
	}
	return awayThroughout(away, appendWindowPieces(nil, start, end, loc)), nil
}
