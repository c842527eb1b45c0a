package matcher

// Counting why nobody can help.
//
// A request that finds fewer candidates than asked for reports, by rule,
// why everyone else within its reach was left out. The search has then
// seen everyone eligible in reach, but it passes over blocks where nobody
// can be eligible (at night, most of them) and reads the rest ring by
// ring, a few points per cell: counting as it went cost it more per cell
// than reading the points. A sweep instead visits the blocks under the
// circle once each, in memory order: blocks that cannot reach the circle
// are dropped by their corners, cells by their edges. Each point is
// judged by its tag where that settles it, as the search's own filter
// would, but by tables rather than rule by rule (tagTable): with one
// volunteer's flags, skills and hours unrelated to the next one's, every
// rule tested is a branch the processor cannot predict, and those cost a
// sweep more than its memory. The own-limit rule is settled per block
// where the block's corners allow. The records of the few the tag leaves
// undecided are read in batches whose cache misses overlap.
//
// A search that has read fifty, a hundred or two hundred points without
// finding k, and whose finds so far promise too few in all its reach (see
// gridSearch.budget), gives up and
// sweeps instead (Engine.search): the sweep also collects those who are
// eligible, so it finds the same neighbours and counts the rest in one
// reading.
//
// A remote request (a befriending call) counts within remoteCountMetres,
// 60,000-90,000 volunteers where the benchmark's cities lie, and at night
// nobody among them is free. A block wholly within that circle whose
// aggregate shows nobody free in the window is counted by its kinds of
// tag (gridHist, byKinds): then only flags, vetting and skills tell one
// volunteer's verdict from another's, and a block of 80 holds a dozen
// kinds; only those whose tags leave the rule open (away, another time
// zone, a check that runs out) are judged one by one. Squares of 2×2
// blocks and of 8×8 (gridPatch) keep the same merged, so that a square
// wholly within the circle is counted from its tallies, and only squares
// the circle's edge crosses are read square by square, then block by
// block (region, patch). Of those blocks, one the
// edge crosses with its centre inside is counted whole, less its points
// beyond the radius (byKindsLess): only its cells the edge crosses, or
// that lie beyond it, are read.
//
// A request with a reach (in person) that falls at night counts its
// 1,000-1,800 neighbours the same way: beyond the tag's kind it needs
// only each one's own distance limit, the first rule (a street or a
// postcode only ranks), and each block counts its points by reach class
// (gridHist.reach), so that a block all of whose classes are passed
// over all of it (limitsPass) is counted by kinds. Its blocks are about
// its circle's size, so most are crossed by its edge: one mostly within
// it is counted whole less its points beyond (mostlyWithin).

import (
	"math"
	"math/bits"
	"slices"

	"github.com/doorstep-aid/doorstep/geo"
)

// remoteCountMetres is how far exclusions are counted for a remote
// request, which has no reach of its own: a city's width.
const remoteCountMetres = 50000

// countExclusions counts, by the first rule failed, the volunteers within
// the request's reach (by grid position, as the search measures) who are
// not eligible. It counts exactly what exclusions does.
func (e *Engine) countExclusions(q *query) []Exclusion {
	var t tally
	t.init(q)
	e.sweep(q, &t, false, nil)
	return t.exclusions(q)
}

// sweep judges everyone within the request's reach: it counts into t
// those who are not eligible, by the first rule failed, and, if collect,
// returns those who are, in no order: nearestFirst puts as many of them
// as the search takes nearest first (by distance, then id), the
// neighbours a search with no limit on their number would return.
// A remote request is counted within remoteCountMetres; collect is only
// for requests with a reach. Those collected are appended to found.
func (e *Engine) sweep(q *query, t *tally, collect bool, found []Neighbour) []Neighbour {
	radius := q.maxMetres
	if q.remote {
		radius = remoteCountMetres
	}
	g := e.grid
	if g.n == 0 || !(radius >= 0) || math.IsInf(radius, 1) || !geo.ValidLatLng(q.lat, q.lng) {
		return nil
	}
	s := exclusionSweep{e: e, q: q, t: t, lat: q.lat, lng: q.lng, radius: radius, collect: collect, found: found, tt: q.table()}
	s.cosMin = gridCosBound(q.lat, radius)
	s.cosMax = gridCosMax(q.lat, radius)
	outer := radius*(1+gridSlackRel) + gridSlackAbs
	s.degSq = (outer / gridMetresPerDeg) * (outer / gridMetresPerDeg)
	inner := radius * (1 - 1e-9) / gridMetresPerDeg
	s.innerDegSq = inner * inner * (1 - 1e-9)
	s.small = radius < 4*gridBlockSide*g.metresPerRow
	s.allPass = true
	for i := range s.reach {
		s.reach[i] = tagReachUnknown
		if q.remote || q.maxMetres <= tagReach[i&7] {
			s.reach[i] = tagPass
		}
		s.allPass = s.allPass && s.reach[i] == tagPass
	}
	if q.tag.wmOK {
		s.pieces = q.window.for_(0)
	}
	if q.remote && s.allPass && s.tt.usable {
		g.eachRegionNear(q.lat, q.lng, radius, s.region)
	} else {
		g.eachBlockNear(q.lat, q.lng, radius, s.block)
	}
	s.flush()
	for slot, n := range s.count {
		switch {
		case n == 0:
		case slot >= tagSkillSlot:
			t.skill[slot-tagSkillSlot] += int(n)
		default:
			t.n[slot] += int(n)
		}
	}
	return s.found
}

// nearestFirst puts the n nearest of ns (all of them, if fewer) first,
// nearest first, given that its first done already are the done nearest
// in that order, and returns how many now are. A sweep that gives up on a
// search collects everyone eligible in reach, thousands where most of a
// crowd is busy, and the search takes k+1 of them, or a few times that
// past ties: sorting them all was most of such a search's time.
func nearestFirst(ns []Neighbour, done, n int) int {
	n = min(n, len(ns))
	if n <= done {
		return done
	}
	rest, m := ns[done:], n-done
	if m < len(rest) {
		selectNearest(rest, m)
	}
	// (distance, id) orders any two neighbours, so the order is the
	// same whichever way it is reached.
	slices.SortFunc(rest[:m], compareNeighbours)
	return n
}

// compareNeighbours orders neighbours nearest first, as gridWorse does.
func compareNeighbours(a, b Neighbour) int {
	switch {
	case gridWorse(a, b):
		return 1
	case gridWorse(b, a):
		return -1
	}
	return 0
}

// selectNearest moves the m nearest of ns to its front, in no order, and
// the rest behind them (quickselect: each round partitions the part
// holding the m-th boundary around the median of three of its points;
// points laid out so that rounds keep choosing badly end in a sort).
func selectNearest(ns []Neighbour, m int) {
	lo, hi := 0, len(ns) // the boundary after the m-th lies in ns[lo:hi]
	for rounds := 2 * bits.Len(uint(len(ns))); hi-lo > 16; rounds-- {
		if rounds == 0 {
			slices.SortFunc(ns[lo:hi], compareNeighbours)
			return
		}
		a, b, c := lo, lo+(hi-lo)/2, hi-1
		if gridWorse(ns[a], ns[b]) {
			a, b = b, a
		}
		if gridWorse(ns[b], ns[c]) {
			b = c
			if gridWorse(ns[a], ns[b]) {
				b = a
			}
		}
		p := ns[b]
		i, j := lo, hi-1
		for i <= j {
			for gridWorse(p, ns[i]) {
				i++
			}
			for gridWorse(ns[j], p) {
				j--
			}
			if i <= j {
				ns[i], ns[j] = ns[j], ns[i]
				i++
				j--
			}
		}
		// ns[lo:j+1] are no farther than p, ns[i:hi] no nearer, and
		// between them, if anything, p itself.
		switch {
		case m < j+1:
			hi = j + 1
		case m > i:
			lo = i
		default:
			return
		}
	}
	for i := lo + 1; i < hi; i++ {
		for j := i; j > lo && gridWorse(ns[j-1], ns[j]); j-- {
			ns[j-1], ns[j] = ns[j], ns[j-1]
		}
	}
}

// exclusionSweep is the state of one sweep.
type exclusionSweep struct {
	e        *Engine
	q        *query
	t        *tally
	lat, lng float64
	radius   float64
	// As in gridSearch: cosMin and cosMax bound the cosine ApproxMetres
	// uses for any point within radius; a point whose lower bound in
	// squared degrees exceeds degSq is beyond it, and one whose upper
	// bound is within innerDegSq is surely within it.
	cosMin, cosMax    float64
	degSq, innerDegSq float64

	tt    tagTable
	reach [16]tagCode // the own-limit rule by tagReachIndex (see block)
	// allPass says every entry of reach is tagPass: nobody's own limit
	// can fail (a remote request's sweep).
	allPass bool
	// small says the radius is less than four blocks: the circle's edge
	// then crosses most of its blocks, and byKindsLess asks mostlyWithin
	// whether to count one, rather than whether its centre is within the
	// radius (which costs nothing, and serves a remote call's 50 km).
	small  bool
	count  [256]int32 // exclusions settled by tagTable, by tagSlot
	pieces []piece    // the window's, in the first time zone (with q.tag.wmOK)

	// Points the tag leaves undecided, to check in a batch.
	batch [64]sweepCheck
	n     int

	collect bool
	found   []Neighbour
}

// sweepCheck is a point waiting for the rules: metres is its distance,
// or NaN when it is surely within its own limit and the distance has not
// been needed (a collecting sweep works it out if the point is eligible).
type sweepCheck struct {
	e      *gridEntry // nil for one counted by its block's kinds (checkID)
	id     uint32
	metres float64
}

// gridEdgePad widens a cell's or a block's extent, in degrees, so that
// no rounding in placing a point can put it outside: a point's cell is
// found by a multiplication and a floor, off by a few units in the last
// place at most, and this is a centimetre.
const gridEdgePad = 1e-7

// boxDegSq bounds the squared distance, in degrees of latitude as the
// search reckons it, from the query to any point within latitudes
// la0..la1 and longitudes ln0..ln1: lo with cosMin (a bound only for
// points within the radius, all that it is used for), hi with cosMax.
func (s *exclusionSweep) boxDegSq(la0, la1, ln0, ln1 float64) (lo, hi float64) {
	la0, la1, ln0, ln1 = la0-gridEdgePad, la1+gridEdgePad, ln0-gridEdgePad, ln1+gridEdgePad
	dyMin := max(0, la0-s.lat, s.lat-la1)
	dxMin := max(0, ln0-s.lng, s.lng-ln1) * s.cosMin
	dyMax := max(s.lat-la0, la1-s.lat)
	dxMax := max(s.lng-ln0, ln1-s.lng) * s.cosMax
	return dyMin*dyMin + dxMin*dxMin, dyMax*dyMax + dxMax*dxMax
}

// block counts blk's points within the radius. Each is judged as the
// search's filter would: by its tag where that settles it, with no
// distance when the point is surely within both the radius and its own
// limit, and otherwise by the rules, in a batch (check).
func (s *exclusionSweep) block(blk *gridBlock) {
	g := s.e.grid
	bd, ok := g.band(int64(blk.by))
	if !ok {
		return
	}
	y0 := int64(blk.by) << gridBlockShift
	x0 := int64(blk.bx) << gridBlockShift
	rowDeg := 1 / g.rowsPerDegree
	blo, bhi := s.boxDegSq(float64(y0)*rowDeg, float64(y0+gridBlockSide)*rowDeg, float64(x0)*bd.degPerCol, float64(x0+gridBlockSide)*bd.degPerCol)
	if blo > s.degSq {
		return
	}
	whole := bhi <= s.innerDegSq // every point is within the radius
	if whole && s.tt.usable && s.byKinds(blk, bhi) {
		return
	}
	if !whole && s.tt.usable && (s.small || blo+bhi <= 2*s.innerDegSq) && s.byKindsLess(blk, bd, bhi) {
		return
	}
	lat, lng := s.lat, s.lng
	cosMin, cosMax, degSq, innerDegSq := s.cosMin, s.cosMax, s.degSq, s.innerDegSq
	// The own-limit rule by reach class and exactness (tagReachIndex), for
	// points surely within the radius: passed whatever the distance in
	// it, or, over a whole block, by its corners; failed, for an exact
	// class the block lies beyond; else tagReachUnknown, for the point's
	// own bounds to settle.
	reach := s.reach
	if whole {
		for i := range reach {
			c := i & 7
			switch {
			case reach[i] == tagPass || bhi <= tagReachDegSq[c]:
				reach[i] = tagPass
			case i&8 != 0 && blo > tagBeyondDegSq[c]:
				reach[i] = tagTooFar
			}
		}
	}
	// A cell's lower bound is its row's plus its column's.
	var colLo [gridBlockSide]float64
	if !whole {
		for c := range colLo {
			cx := x0 + int64(c)
			dx := max(0, float64(cx)*bd.degPerCol-gridEdgePad-lng, lng-float64(cx+1)*bd.degPerCol-gridEdgePad) * cosMin
			colLo[c] = dx * dx
		}
	}
	tt := &s.tt
	count := &s.count
	arena := blk.arena
	if whole && s.allPass && tt.usable {
		// A remote request's: every point is within the radius, and no
		// own limit applies, so the tag alone decides or sends the point
		// to the rules, without the reach looked up for each.
		for i := range arena {
			e := &arena[i]
			if e.lat == gridHole.lat {
				continue
			}
			if code := tt.code(e.tag); code&tagSettled != 0 {
				count[code&0xff]++
			} else {
				s.check(e, math.NaN())
			}
		}
		return
	}
	if whole {
		// Every point is within the radius: the arena from end to end,
		// without the cell headers, passing over its holes.
		for i := range arena {
			e := &arena[i]
			if e.lat == gridHole.lat {
				continue
			}
			rc := reach[tagReachIndex(e.tag)]
			if rc == tagReachUnknown || !tt.usable {
				dlat := float64(e.lat)*gridDegreePerFixed - lat
				dlng := float64(e.lng)*gridDegreePerFixed - lng
				xl, xu := dlng*cosMin, dlng*cosMax
				s.point(e, dlat*dlat+xl*xl, dlat*dlat+xu*xu)
				continue
			}
			if code := min(rc, tt.code(e.tag)); code&tagSettled != 0 {
				count[code&0xff]++
			} else {
				s.check(e, math.NaN())
			}
		}
		return
	}
	for row := int64(0); row < gridBlockSide; row++ {
		cells := uint32(blk.occ[row])
		if cells == 0 {
			continue
		}
		dy := max(0, float64(y0+row)*rowDeg-gridEdgePad-lat, lat-float64(y0+row+1)*rowDeg-gridEdgePad)
		rowLo := dy * dy
		if rowLo > degSq {
			continue
		}
		for cells != 0 {
			c := bits.TrailingZeros32(cells)
			cells &= cells - 1
			if rowLo+colLo[c] > degSq {
				continue
			}
			off, n := blk.cell(uint32(row<<gridBlockShift | int64(c)))
			for i := off; i < off+n; i++ {
				e := &arena[i]
				dlat := float64(e.lat)*gridDegreePerFixed - lat
				dlng := float64(e.lng)*gridDegreePerFixed - lng
				xl := dlng * cosMin
				lo := dlat*dlat + xl*xl
				if lo > degSq {
					continue
				}
				xu := dlng * cosMax
				hi := dlat*dlat + xu*xu
				if hi > innerDegSq || !tt.usable {
					s.point(e, lo, hi)
					continue
				}
				ri := tagReachIndex(e.tag)
				rc := reach[ri]
				if rc == tagReachUnknown {
					switch cl := ri & 7; {
					case hi <= tagReachDegSq[cl]:
						rc = tagPass
					case ri&8 != 0 && lo > tagBeyondDegSq[cl]:
						rc = tagTooFar
					default:
						s.point(e, lo, hi) // the distance decides
						continue
					}
				}
				code := min(rc, tt.code(e.tag))
				if code&tagSettled == 0 {
					// Within its own limit (or the code would be settled):
					// the rules need no distance.
					s.check(e, math.NaN())
					continue
				}
				count[code&0xff]++
			}
		}
	}
}

// byKinds counts a block wholly within the radius by its kinds of tag
// (gridHist), when the window misses every hour its aggregate claims and
// every point in it is within its own limit (limitsPass), and reports
// whether it did: a remote night call's count of why otherwise judged
// 60,000-90,000 points one by one, and an in-person request at night
// 1,500-1,800. bhi bounds the block's points' distance (boxDegSq).
func (s *exclusionSweep) byKinds(blk *gridBlock, bhi float64) bool {
	if !s.hopelessHours(blk) || !s.limitsPass(blk, bhi) {
		return false
	}
	h := &s.e.grid.hists[blk.index]
	if !s.addPlain(h.plain) {
		return false // for the block to be read point by point
	}
	for _, o := range h.odd {
		if slot, ok := s.oddSlot(o); ok {
			s.count[slot]++
		} else {
			s.checkID(o.id)
		}
	}
	return true
}

// limitsPass says whether every point of blk within the radius is
// within its own limit, whatever its distance, as block would find point
// by point: the kinds of tag (gridHist) have no reach in them, and the
// own limit is the first rule. A remote request's sweep passes every
// limit (allPass); one with a reach passes a class whose bound is at
// least the reach (s.reach), and a class whose bound covers the block's
// farthest corner, bhi, as block does for a whole block.
func (s *exclusionSweep) limitsPass(blk *gridBlock, bhi float64) bool {
	if s.allPass {
		return true
	}
	for c, n := range &s.e.grid.hists[blk.index].reach {
		if n != 0 && s.reach[c] != tagPass && !(bhi <= tagReachDegSq[c]) {
			return false
		}
	}
	return true
}

// oddSlot is where odd point o of a block that byKinds can count is
// counted (tagSlot), and false if only the rules can tell.
func (s *exclusionSweep) oddSlot(o gridOdd) (slot uint8, ok bool) {
	tt := &s.tt
	if code := tt.code(o.tag); code&tagSettled != 0 {
		return uint8(code), true
	}
	if o.tag&gridHistOdd == tagAway && o.away != gridAwayUnknown && tt.kindCode(gridHistKey(o.tag&^tagAway)|1<<gridHistKeyBits).code == tt.notFree {
		// Away or holding jobs, in the first time zone, and passing
		// every rule before availability by the tag alone (its kind
		// without tagAway would be simply not free): check would find
		// no slot meeting the window (kinds), and then judge only the
		// away days, which the grid keeps beside them. About 2,100 a
		// night call at 200k, each a record read, a cache miss or two.
		if awayThroughout([][2]int32{o.away}, s.pieces) {
			return uint8(rAway), true
		}
		return uint8(rNotAvailable), true
	}
	return 0, false
}

// byKindsLess counts a block the circle's edge crosses, whose centre lies
// within the radius, as byKinds would count it whole, less those of its
// points that lie beyond the radius, judged one by one, and reports
// whether it did: the points of its cells wholly within the circle, most
// of them, are then not read. It does not where byKinds would not, nor
// where one of its odd points needs the rules.
func (s *exclusionSweep) byKindsLess(blk *gridBlock, bd gridBand, bhi float64) bool {
	if !s.hopelessHours(blk) || !s.limitsPass(blk, bhi) || s.small && !s.mostlyWithin(blk, bd) {
		return false
	}
	h := &s.e.grid.hists[blk.index]
	// Counted in one pass, and undone in the rare block it cannot count.
	if !s.addPlain(h.plain) {
		return false
	}
	for i, o := range h.odd {
		slot, ok := s.oddSlot(o)
		if !ok {
			s.undoBlock(h.plain, h.odd[:i])
			return false
		}
		s.count[slot]++
	}
	g := s.e.grid
	lat, lng := s.lat, s.lng
	cosMax, cosMin, degSq, innerDegSq := s.cosMax, s.cosMin, s.degSq, s.innerDegSq
	y0 := int64(blk.by) << gridBlockShift
	x0 := int64(blk.bx) << gridBlockShift
	rowDeg := 1 / g.rowsPerDegree
	// A cell's upper bound is its row's plus its column's (boxDegSq).
	var colHi [gridBlockSide]float64
	for c := range colHi {
		cx := x0 + int64(c)
		dx := max(lng-(float64(cx)*bd.degPerCol-gridEdgePad), float64(cx+1)*bd.degPerCol+gridEdgePad-lng) * cosMax
		colHi[c] = dx * dx
	}
	arena := blk.arena
	for row := int64(0); row < gridBlockSide; row++ {
		cells := uint32(blk.occ[row])
		if cells == 0 {
			continue
		}
		dy := max(lat-(float64(y0+row)*rowDeg-gridEdgePad), float64(y0+row+1)*rowDeg+gridEdgePad-lat)
		rowHi := dy * dy
		for cells != 0 {
			c := bits.TrailingZeros32(cells)
			cells &= cells - 1
			if rowHi+colHi[c] <= innerDegSq {
				continue // every point is within the radius
			}
			off, n := blk.cell(uint32(row<<gridBlockShift | int64(c)))
			for i := off; i < off+n; i++ {
				e := &arena[i]
				dlat := float64(e.lat)*gridDegreePerFixed - lat
				dlng := float64(e.lng)*gridDegreePerFixed - lng
				xl, xu := dlng*cosMin, dlng*cosMax
				// Within the radius as block finds it: by the bounds, or
				// else by the distance (point).
				if lo, hi := dlat*dlat+xl*xl, dlat*dlat+xu*xu; lo <= degSq && (hi <= innerDegSq || s.metres(e) <= s.radius) {
					continue
				}
				if e.tag&gridHistOdd == 0 {
					s.count[s.tt.kindCode(gridHistKey(e.tag)).code&0xff]--
					continue
				}
				for _, o := range h.odd {
					if o.id == e.id {
						slot, _ := s.oddSlot(o)
						s.count[slot]--
						break
					}
				}
			}
		}
	}
	return true
}

// mostlyWithin says whether more of blk lies within the radius than
// beyond it, by sixteen points spread over it: byKindsLess then most
// likely reads fewer points than block would read (both read the cells
// the edge crosses). The block's centre within the radius said so too,
// but for a request with a reach of 1.5 km a block (1.6 km) is most often
// crossed by the edge, about as often with its centre beyond as within.
// It only chooses the way; both count the same.
func (s *exclusionSweep) mostlyWithin(blk *gridBlock, bd gridBand) bool {
	rowDeg := 1 / s.e.grid.rowsPerDegree
	y0 := float64(int64(blk.by)<<gridBlockShift) * rowDeg
	x0 := float64(int64(blk.bx)<<gridBlockShift) * bd.degPerCol
	const step = gridBlockSide / 4
	var dy2, dx2 [4]float64
	for i := range 4 {
		dy := y0 + (float64(i)+0.5)*step*rowDeg - s.lat
		dx := (x0 + (float64(i)+0.5)*step*bd.degPerCol - s.lng) * s.cosMin
		dy2[i], dx2[i] = dy*dy, dx*dx
	}
	n := 0
	for _, y := range dy2 {
		for _, x := range dx2 {
			if y+x <= s.innerDegSq {
				n++
			}
		}
	}
	return n > 8
}

// patch counts the points of patch p within the radius, for a remote
// request (whose sweep passes every own limit, with tables): by its
// tallies alone if it lies wholly within the radius and the window
// misses every hour its aggregate claims, as byKinds counts a block, and
// otherwise block by block.
func (s *exclusionSweep) patch(p *gridPatch) {
	near, whole := s.patchBounds(p, gridPatchShift)
	if !near {
		return
	}
	if whole && p.needy == 0 && s.hopelessAgg(&p.agg) && s.patchKinds(p) {
		return
	}
	g := s.e.grid
	// Each block is counted with its own bounds on the cosine (blockCos).
	cosMin, cosMax := s.cosMin, s.cosMax
	rowDeg := 1 / g.rowsPerDegree
	for _, bi := range p.members {
		blk := g.blocks[bi]
		y0 := int64(blk.by) << gridBlockShift
		s.cosMin, s.cosMax = s.blockCos(float64(y0)*rowDeg, float64(y0+gridBlockSide)*rowDeg, cosMin, cosMax)
		s.block(blk)
	}
	s.cosMin, s.cosMax = cosMin, cosMax
}

// blockCos bounds the cosine ApproxMetres uses between the query and any
// point within latitudes la0..la1 (a block's), given cosMin and cosMax,
// the bounds for any point within the radius (gridCosBound, gridCosMax):
// the mean of the two latitudes spans a hundredth of a degree, not the
// radius's half-degree, over which a 50 km circle's edge was uncertain
// by 500 m east and west, five cells of each block it crosses, read for
// it.
func (s *exclusionSweep) blockCos(la0, la1, cosMin, cosMax float64) (float64, float64) {
	m0 := (s.lat + la0 - gridEdgePad) * 0.5
	m1 := (s.lat + la1 + gridEdgePad) * 0.5
	// As gridCosBound and gridCosMax: gridCosDeg is within 1e-10 of the
	// cosine, and decreasing in |deg|.
	if far := max(math.Abs(m0), math.Abs(m1)) + 1e-9; far < 90 {
		cosMin = max(cosMin, gridCosDeg(far)*(1-gridSlackRel)-1e-9)
	}
	near := 0.0
	switch {
	case m0 > 0:
		near = m0 - 1e-9
	case m1 < 0:
		near = -m1 - 1e-9
	}
	if near > 0 {
		cosMax = min(cosMax, gridCosDeg(near)*(1+gridSlackRel)+1e-9)
	}
	return cosMin, cosMax
}

// region counts region r's points within the radius as patch counts a
// patch's: by its tallies, or else patch by patch.
func (s *exclusionSweep) region(r *gridPatch) {
	near, whole := s.patchBounds(r, gridRegionShift)
	if !near {
		return
	}
	if whole && r.needy == 0 && s.hopelessAgg(&r.agg) && s.patchKinds(r) {
		return
	}
	g := s.e.grid
	for _, k := range r.kids {
		if p := &g.patches[k]; len(p.members) > 0 {
			s.patch(p)
		}
	}
}

// patchBounds says whether any of patch p's blocks may reach within the
// radius, and whether each lies wholly within it, as block would find;
// shift is gridPatchShift, or gridRegionShift for a region. It bounds one
// box holding every band's strip of the patch (their columns differ a
// little in width), so it may claim too little of "whole" or too much of
// "near", which only costs reading the patch's blocks; a block's box lies
// within it, and boxDegSq only grows with its box, in floating point as in
// reals. A box per band cost a night call a tenth of its time.
func (s *exclusionSweep) patchBounds(p *gridPatch, shift uint) (near, whole bool) {
	g := s.e.grid
	by0 := max(int64(p.py)<<shift, g.bandLo)
	by1 := min(int64(p.py+1)<<shift-1, g.bandLo+int64(len(g.bands))-1)
	x0 := float64(int64(p.px) << (shift + gridBlockShift))
	x1 := x0 + float64(int64(gridBlockSide)<<shift)
	ln0, ln1 := math.Inf(1), math.Inf(-1)
	for by := by0; by <= by1; by++ {
		d := g.bands[by-g.bandLo].degPerCol
		ln0, ln1 = min(ln0, x0*d), max(ln1, x1*d)
	}
	if by0 > by1 {
		return false, false // no band of it has held a point
	}
	rowDeg := 1 / g.rowsPerDegree
	lo, hi := s.boxDegSq(float64(by0<<gridBlockShift)*rowDeg, float64((by1+1)<<gridBlockShift)*rowDeg, ln0, ln1)
	return lo <= s.degSq, hi <= s.innerDegSq
}

// patchKinds counts patch p by its tallies, as byKinds would count each
// of its blocks, where the window misses every hour p's aggregate claims
// and each of its odd points is away with known days (gridPatch.needy is
// 0), and reports whether it did; if a kind needs the rules it undoes
// what it counted, for p's blocks to be read.
func (s *exclusionSweep) patchKinds(p *gridPatch) bool {
	tt := &s.tt
	if !s.addPlain(p.plain) {
		return false
	}
	for i, a := range p.away {
		c := tt.kindCode(a.key)
		switch {
		case c.code&tagSettled != 0:
		case tt.kindCode(a.key&^(tagAway>>tagVetShift)).code == tt.notFree:
			// As byKinds: only the away days tell "away" from "not
			// free".
			c.code = tagDecided(rNotAvailable, int(rNotAvailable))
			if awayThroughout([][2]int32{a.away}, s.pieces) {
				c.code = tagDecided(rAway, int(rAway))
			}
		default:
			s.undoKinds(p.plain, p.away[:i])
			return false
		}
		s.count[c.code&0xff] += int32(c.n)
	}
	return true
}

// undoBlock takes back what byKindsLess counted of plain and odd.
func (s *exclusionSweep) undoBlock(plain []uint32, odd []gridOdd) {
	s.subPlain(plain)
	for _, o := range odd {
		slot, _ := s.oddSlot(o)
		s.count[slot]--
	}
}

// addPlain counts each kind of plain (gridHist.plain, gridPatch.plain)
// whole, and reports whether it could: at the first kind the tag cannot
// settle (a skill or check it cannot judge: rare, and then mostly the
// first kind) it takes back what it counted, for the caller to read the
// points instead.
func (s *exclusionSweep) addPlain(plain []uint32) bool {
	for i, k := range plain {
		c := s.tt.kindCode(k)
		if c.code&tagSettled == 0 {
			s.subPlain(plain[:i])
			return false
		}
		s.count[c.code&0xff] += int32(c.n)
	}
	return true
}

// subPlain takes back what addPlain counted of plain.
func (s *exclusionSweep) subPlain(plain []uint32) {
	for _, k := range plain {
		c := s.tt.kindCode(k)
		s.count[c.code&0xff] -= int32(c.n)
	}
}

// undoKinds takes back what patchKinds counted of plain and away.
func (s *exclusionSweep) undoKinds(plain []uint32, away []gridAwayKind) {
	s.subPlain(plain)
	tt := &s.tt
	for _, a := range away {
		c := tt.kindCode(a.key)
		if c.code&tagSettled == 0 {
			c.code = tagDecided(rNotAvailable, int(rNotAvailable))
			if awayThroughout([][2]int32{a.away}, s.pieces) {
				c.code = tagDecided(rAway, int(rAway))
			}
		}
		s.count[c.code&0xff] -= int32(c.n)
	}
}

// kinds says whether byKinds can count blk.
func (s *exclusionSweep) kinds(blk *gridBlock) bool {
	if !s.hopelessHours(blk) {
		return false
	}
	for _, p := range s.e.grid.hists[blk.index].plain {
		if s.tt.kindCode(p).code&tagSettled == 0 {
			return false // a skill or check the tag cannot judge
		}
	}
	return true
}

// hopelessHours says whether the window misses every hour blk's
// aggregate claims, in the first time zone.
func (s *exclusionSweep) hopelessHours(blk *gridBlock) bool {
	return s.hopelessAgg(&blk.agg)
}

// hopelessAgg is hopelessHours for any aggregate.
func (s *exclusionSweep) hopelessAgg(a *gridAgg) bool {
	q := s.q
	if !q.tag.wmOK || a.other {
		return false
	}
	for d, m := range q.tag.wm0 {
		if m&a.hours[d] != 0 {
			return false
		}
	}
	// Nobody's tag span meets the window on a day of theirs, so each
	// tag's availability code is notFree (tagTable.code); that of a
	// paused or full point, left out of the aggregate, loses to its
	// flags'.
	return true
}

type kindCount struct {
	code tagCode
	n    uint32
}

// kindCode is the verdict and number of one kind of plain tag (gridHist)
// in a block where the window misses everyone's hours.
func (tt *tagTable) kindCode(p uint32) kindCount {
	k := p & gridHistKeyMask
	return kindCount{min(tt.flags[k>>3&15], tt.vet[k&7], tt.skills[k>>7], tt.notFree), p >> gridHistKeyBits}
}

// tagReachIndex is a tag's reach class, plus 8 if the class's bound is
// exactly its volunteer's limit.
func tagReachIndex(tag uint32) uint32 {
	return tag>>tagReachShift&7 | tag>>(31-3)&8
}

// The own-limit rule's codes in a sweep's reach table: failed, and not
// settled by the block.
const (
	tagTooFar       = tagSettled | tagCode(rTooFar) // rTooFar's place is 0
	tagReachUnknown = tagPass - 1
)

// point judges one point within the radius the slow way: by its distance
// where its bounds leave its own limit unsettled, and by tagRules when
// the tables cannot be used.
func (s *exclusionSweep) point(e *gridEntry, lo, hi float64) {
	q := s.q
	if hi <= s.innerDegSq {
		cl := e.tag >> tagReachShift & 7
		switch {
		case q.remote || q.maxMetres <= tagReach[cl] || hi <= tagReachDegSq[cl]:
			// Within its own limit: the rules need no distance.
			if decided, why, det := q.tagRules(e.id, e.tag); decided {
				s.t.add(why, det)
			} else {
				s.check(e, math.NaN())
			}
			return
		case lo > tagBeyondDegSq[cl] && e.tag&tagReachExact != 0:
			s.t.add(rTooFar, 0)
			return
		}
	}
	d := s.metres(e)
	if d > s.radius {
		return
	}
	if decided, why, det := q.tagVerdict(e.id, e.tag, d); decided {
		s.t.add(why, det)
		return
	}
	s.check(e, d)
}

// check queues a point for the full rules.
func (s *exclusionSweep) check(e *gridEntry, metres float64) {
	s.batch[s.n] = sweepCheck{e, e.id, metres}
	if s.n++; s.n == len(s.batch) {
		s.flush()
	}
}

// checkID queues volunteer id for the full rules, surely within its own
// limit, from a block counted by its kinds (byKinds).
func (s *exclusionSweep) checkID(id uint32) {
	s.batch[s.n] = sweepCheck{nil, id, math.NaN()}
	if s.n++; s.n == len(s.batch) {
		s.flush()
	}
}

// flush applies the rules to the queued points, their records read ahead
// (warmRecords).
func (s *exclusionSweep) flush() {
	b := s.batch[:s.n]
	var ids [len(s.batch)]uint32
	for i := range b {
		ids[i] = b[i].id
	}
	s.e.warmRecords(ids[:len(b)])
	for i := range b {
		c := &b[i]
		// A point surely within its own limit passes that rule at any
		// distance the rules could be asked about; 0 stands for it.
		m := c.metres
		if m != m {
			m = 0
		}
		ok, why, det, _ := s.e.check(s.q, c.id, m)
		switch {
		case !ok:
			s.t.add(why, det)
		case s.collect:
			e := c.e
			if e == nil {
				// Counted by its block's kinds (checkID), where the
				// window misses everyone's hours: not reached, but
				// kept right should the rules ever say otherwise.
				e = s.e.grid.entry(c.id)
			}
			if c.metres != c.metres {
				c.metres = s.metres(e)
			}
			s.found = append(s.found, Neighbour{ID: e.id, Metres: c.metres})
		}
	}
	s.n = 0
}

// metres is ApproxMetres from the query to e, as gridSearch.scan works it
// out.
func (s *exclusionSweep) metres(e *gridEntry) float64 {
	plat := float64(e.lat) * gridDegreePerFixed
	plng := float64(e.lng) * gridDegreePerFixed
	dlat := plat - s.lat
	dlng := plng - s.lng
	x := float64(dlng * gridCosDeg((s.lat+plat)*0.5))
	return gridMetresPerDeg * math.Sqrt(float64(dlat*dlat)+float64(x*x))
}
