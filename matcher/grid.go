package matcher

// The spatial index: volunteers' homes in a uniform grid.
//
// Why a uniform grid. Every question asked of it is local ("the 20 nearest
// within 1.5 km", "everyone within 3 km"), the scale of the data is known in
// advance (street level), and points move (a volunteer edits their
// address) about as often as they are searched. A grid answers a local
// query from the cells around it alone, moves a point in O(1) and never
// rebalances, where a k-d tree is rebuilt or degrades under updates and an
// R-tree splits nodes and chases a pointer per level. Its weakness, empty
// cells in sparse country, is met by grouping cells into blocks of 16×16
// with an occupancy bitmap: an empty cell costs a bit test, an empty block
// one map lookup.
//
// Why inline coordinates. A cell's points are 16-byte entries (id,
// fixed-point latitude and longitude, and a 32-bit tag the engine uses to
// turn most volunteers away without reading their records; see tag.go)
// stored contiguously, not ids to look up nor pointers to follow: on a
// large grid a search is bound by cache misses, and a cell then costs one
// miss rather than one per point, and the garbage collector has nothing to
// trace inside the cells. Coordinates are fixed point, 2^23 units to the
// degree (1.3 cm of latitude): unlike float32, which resolves only 40 cm at
// 57 degrees, the precision is the same everywhere, and converting back is
// an exact multiplication, so Position and the distances Nearest reports
// agree bit for bit with ApproxMetres.
//
// Square cells. Rows are cellMetres of latitude everywhere, but a degree of
// longitude shrinks with cos(latitude), from 73 km at 49N to 54 km at 61N.
// Each band of 16 rows (a row of blocks, 1.6 km at 100 m) has its own
// column width, cellMetres at the band's middle latitude, so at 100 m a
// cell is square to 0.03% in UK latitudes. Columns of neighbouring bands do
// not line up; a search works out its own column in each band.
//
// Layout. A map from packed block coordinates finds a block. A block holds
// the bitmap, 256 cell headers (offset and count, 16 bits each) and one
// arena holding every cell's entries, each cell in a run of the next power
// of two in size; when the arena fills it is rebuilt in cell order, so a search
// finds neighbouring cells' entries near each other. A slot per id (a slice
// indexed by id) records block, cell and position, so Upsert and Remove are
// O(1): a point leaves its cell by moving the cell's last entry into its
// place and fixing that entry's slot. A grid filled all at once (load, as
// Engine.Compact does) lays each block's arena out in one allocation with
// no room to spare.
//
// Search. Nearest takes square rings of cells outward from the query's,
// skips any cell whose nearest possible point is beyond the bound (maxMetres,
// or the k-th result once it has k), and stops after the first ring beyond
// which no cell can be within the bound. It finds the cells of a few rings
// at a time and reads the first entry of each before scanning any (Go has no
// prefetch): the cache misses then overlap, which measurably shortens cold
// searches. The first 16 rings lie within the 3×3 blocks around the query,
// which it looks up once each; beyond them it continues in rings of whole
// blocks, and once those would cost more lookups than the grid has blocks
// it visits every remaining block directly, so even an unbounded search
// with a filter that accepts nothing costs O(blocks), not O(area). Within
// visits the blocks under the circle's bounding box, or every block if
// there are fewer.
//
// The engine's search (nearestTagged) adds three things. Until it has k
// it turns points away by their tags before working out their distance.
// Points within the bound are held back and offered to the filter in
// batches, a word of each one's record read first in a loop of
// independent loads, so that the filter's cache misses overlap. And,
// given a budget, a search that has read that many points without k, and
// whose finds promise fewer than k in its whole reach, gives up, for the
// engine to sweep the circle instead (count.go). Each block also keeps
// its points' tags by kind (gridHist), and each square of 2×2 blocks and
// of 8×8 the same merged (gridPatch, patch.go), for a remote request's
// count.

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"

	"github.com/doorstep-aid/doorstep/geo"
)

const (
	gridFixedPerDegree = 1 << 23 // fixed-point units per degree
	gridDegreePerFixed = 1.0 / gridFixedPerDegree
	gridMetresPerDeg   = geo.EarthRadiusMetres * math.Pi / 180

	gridBlockShift = 4
	gridBlockSide  = 1 << gridBlockShift // cells on a side of a block
	gridBlockMask  = gridBlockSide - 1

	// Lower bounds are computed in floating point from cell edges; they are
	// loosened by this much so that rounding can never prune a point that
	// is within the bound.
	gridSlackRel = 1e-9
	gridSlackAbs = 1e-6 // metres

	// Rings of cells walked before the search continues in blocks.
	gridCellRings = gridBlockSide
)

// Grid indexes points (volunteers' homes) by a uniform grid of square cells of about cellMetres on a side.
//
// A Grid is not safe for concurrent use if any goroutine modifies it;
// Nearest, Within, Position and Len may run concurrently with each other.
// The zero Grid is not usable: call NewGrid.
type Grid struct {
	rowsPerDegree float64 // rows of cells per degree of latitude
	metresPerRow  float64 // = gridMetresPerDeg / rowsPerDegree, about cellMetres

	blockOf map[uint64]*gridBlock // by packed block coordinates
	blocks  []*gridBlock          // blocks[0] is unused so that a zero slot means absent
	hists   []gridHist            // by block index, as blocks
	// aggs[i] is blocks[i].agg, side by side, and groups[j] the union of
	// aggs[j<<gridGroupShift:(j+1)<<gridGroupShift] (syncAgg): a remote
	// call at night, when nobody anywhere is free, passes over every block
	// of the country, and read each block's own line to find it hopeless,
	// a cache miss each; it now reads a group's union for 64 blocks.
	aggs   []gridAgg
	groups []gridAgg
	// patches[blockPatch[i]] is the patch (patch.go) of block i, found
	// by patchOf; patches[0] is unused.
	patches    []gridPatch
	patchOf    map[uint64]uint32
	blockPatch []uint32
	// regions[patches[i].parent] is patch i's region, found by regionOf;
	// regions[0] is unused.
	regions    []gridPatch
	regionOf   map[uint64]uint32
	freeBlocks []uint32   // indexes of empty blocks, for reuse
	slots      []gridSlot // indexed by id
	n          int

	// Every band (row of blocks) that has ever held a point lies in
	// bandLo .. bandLo+len(bands)-1, and every longitude in minLng..maxLng.
	// They never shrink, so searches may rely on them to stop.
	bandLo         int64
	bands          []gridBand
	minLng, maxLng float64
}

// gridEntry is one point, stored inline in its cell. tag is the caller's:
// the engine packs into it enough of a volunteer's record to turn most of
// them away without reading the record (see volunteerTag), so that a
// search touches only the cells for them. It also makes an entry 16 bytes,
// four to a cache line.
type gridEntry struct {
	id       uint32
	lat, lng int32 // degrees × 2^23
	tag      uint32
}

// gridBlock is 16×16 cells: rows cy with cy>>4 == by, columns cx of that
// band with cx>>4 == bx. Cell (cy&15, cx&15) is cells[(cy&15)<<4 | cx&15].
// The cells' entries live in one arena per block, each cell in a run of
// its own capacity, laid out in cell order when the arena is rebuilt, so
// the cells a search reads are near each other in memory.
type gridBlock struct {
	// What a search reads first fits in the block's first cache line.
	arena []gridEntry
	occ   [gridBlockSide]uint16 // bit c of occ[r] is set when cell r<<4|c is not empty

	// The cell headers are 4 bytes and start on a cache line, so that a
	// row of 16 cells is one line, where 8-byte headers at offset 236 made
	// it three: the slowest searches wait for memory, and headers were a
	// fifth of the lines they read. They start on a line because the
	// runtime puts an 8-byte header before an object of this size (1272
	// bytes, with pointers) at the start of a line, so offset 56 is a
	// line's start (TestGridBlockLayout). A block whose arena outgrows
	// 16-bit offsets keeps its headers in wide instead (cell).
	cells [gridBlockSide * gridBlockSide]gridCell

	cols   uint16 // the union of occ: columns with a non-empty cell
	n      int32  // points in the block
	wide   *[gridBlockSide * gridBlockSide]gridWideCell
	by, bx int32
	index  uint32 // in Grid.blocks
	agg    gridAgg
	// skilled[b] is occ for the points whose tag has skill bit b (tag.go):
	// a search for a skill reads only the cells that hold someone with it
	// (gridSearch.rowCells). A request needing a skill few have (a lift
	// needs a driver, a quarter of volunteers) otherwise reads every cell
	// it passes, most holding a point or two, each a cache miss, only to
	// turn their points away by their tags. Like agg it only ever claims
	// too much: a point that leaves or changes leaves its bit behind
	// until the cell empties or the arena is next rebuilt.
	skilled [tagSkillBits][gridBlockSide]uint16
	// late[i] is occ for the points that may be free outside the day's
	// hours gridDawn..gridLateHour[i] (markSkills): a search whose window
	// touches none of those hours (an evening, maybe into the night)
	// reads only those cells (rowCells). In the evening few are free: a
	// remote call at 20:00 ranks by distance over the whole country, and
	// read 4,000-4,500 cells (7,000-8,000 points) to find 51, nine cells
	// in ten holding nobody whose hours reach the window, each a cache
	// miss only for the tags to turn them away. Like skilled it only
	// ever claims too much. 128 bytes take the block from 1272 bytes to
	// 1400, the next size class (1408 with the runtime's header) that
	// keeps the cell headers on a cache line (TestGridBlockLayout).
	late [len(gridLateHour)][gridBlockSide]uint16
}

// gridDawn and gridLateHour bound the day's hours gridBlock.late is kept
// for, gridDawn..gridLateHour[i] (the last hour excluded), in order: the
// later the evening, the fewer are free.
const gridDawn = 6

var gridLateHour = [4]uint32{17, 18, 19, 20}

// markSkills notes in skilled that cell ci holds a point with tag, and
// in late the hours it may be free at.
func (b *gridBlock) markSkills(ci, tag uint32) {
	row, bit := ci>>gridBlockShift, uint16(1)<<(ci&gridBlockMask)
	for sk := tag >> tagSkillShift & (1<<tagSkillBits - 1); sk != 0; sk &= sk - 1 {
		b.skilled[bits.TrailingZeros32(sk)][row] |= bit
	}
	// As gridAgg.add: a paused or full point is never eligible, and one
	// in the first time zone with no slot never free; one in another
	// zone may be free at any hour.
	if tag&(tagPaused|tagFull) != 0 {
		return
	}
	span := ^uint32(0)
	if tag&tagOtherZone == 0 {
		if tag>>tagDaysShift&127 == 0 {
			return
		}
		span = tagSpan(tag)
	}
	for i := range gridLateHour {
		if span&^gridDayHours(i) != 0 {
			b.late[i][row] |= bit
		}
	}
}

// gridDayHours is the hours gridDawn..gridLateHour[i], as a mask.
func gridDayHours(i int) uint32 {
	return 1<<gridLateHour[i] - 1<<gridDawn
}

// gridAgg is what a block's tags have in common, kept so that a search
// can pass over a block in which nobody can be eligible without reading a
// cell of it (see query.hopeless). It only ever claims too much: a point
// that leaves or changes leaves its bits behind until the block's arena is
// next rebuilt, which can cost a search a needless scan, never a result.
type gridAgg struct {
	hours  [7]uint32 // per weekday, the hour spans of the tags below (tag.go)
	skills uint8     // the union of their skill bits
	vet    uint8     // the highest of their vetting levels
	other  bool      // one is in another time zone: hours do not cover it
	live   bool      // one is neither paused nor full
}

// add counts tag in; tags of points that can never be eligible (paused,
// full) change nothing.
func (a *gridAgg) add(tag uint32) {
	if tag&(tagPaused|tagFull) != 0 {
		return
	}
	a.live = true
	a.skills |= uint8(tag >> tagSkillShift & (1<<tagSkillBits - 1))
	a.vet = max(a.vet, uint8(tag>>tagVetShift&3))
	if tag&tagOtherZone != 0 {
		a.other = true
		return
	}
	span := tagSpan(tag)
	for days := tag >> tagDaysShift & 127; days != 0; days &= days - 1 {
		a.hours[bits.TrailingZeros32(days)] |= span
	}
}

// gridGroupShift: a group of blocks (Grid.groups) is 1<<gridGroupShift
// consecutive block indexes, which lie anywhere: the group serves the
// search's pass over every block in index order (visitBlocksBeyond).
const gridGroupShift = 6

// merge widens a to claim all that b does.
func (a *gridAgg) merge(b *gridAgg) {
	for d := range a.hours {
		a.hours[d] |= b.hours[d]
	}
	a.skills |= b.skills
	a.vet = max(a.vet, b.vet)
	a.other = a.other || b.other
	a.live = a.live || b.live
}

// covers reports whether a claims all that b does.
func (a *gridAgg) covers(b *gridAgg) bool {
	for d := range a.hours {
		if b.hours[d]&^a.hours[d] != 0 {
			return false
		}
	}
	return b.skills&^a.skills == 0 && b.vet <= a.vet && (a.other || !b.other) && (a.live || !b.live)
}

// syncAgg copies blk.agg, just changed, into aggs and keeps its group's
// union exact: widened in place when the block's aggregate only grew,
// worked out afresh from its 64 neighbours in aggs (2 KB side by side)
// when it shrank (a rebuilt arena, an emptied block).
func (g *Grid) syncAgg(blk *gridBlock) {
	bi := blk.index
	old := g.aggs[bi]
	g.aggs[bi] = blk.agg
	gi := bi >> gridGroupShift
	p := &g.patches[g.blockPatch[bi]]
	r := &g.regions[p.parent]
	if blk.agg.covers(&old) {
		g.groups[gi].merge(&blk.agg)
		p.agg.merge(&blk.agg)
		r.agg.merge(&blk.agg)
		return
	}
	p.syncAgg(g.aggs)
	r.syncRegionAgg(g.patches)
	lo := gi << gridGroupShift
	hi := min(lo+1<<gridGroupShift, uint32(len(g.aggs)))
	var u gridAgg
	for i := lo; i < hi; i++ {
		u.merge(&g.aggs[i])
	}
	g.groups[gi] = u
}

// hopelessEverywhere reports whether the union of every group of blocks
// is hopeless for q: then nobody anywhere can be eligible, as at night
// for a remote call, and a search finds nothing without a block read.
func (g *Grid) hopelessEverywhere(q *query) bool {
	for i := range g.groups {
		if !q.hopeless(&g.groups[i]) {
			return false
		}
	}
	return true
}

// gridHist is a block's tags by what a remote request's count of why
// needs of them when nobody in the block can be free in its window (at
// night): such a request has no reach, so a tag's verdict then depends
// on its flags, vetting and skill bits alone (tagTable.code), and the
// block is counted by kinds of tag, a dozen or so, rather than by its
// points, 80 on average (exclusionSweep.block). Tags whose verdict may
// need the record (away, another time zone, a check that expires) are
// kept apart, one by one. Unlike gridAgg it is exact: every point of the
// block is in it once.
type gridHist struct {
	plain []uint32  // gridHistKey(tag) | count<<gridHistKeyBits, in no order
	odd   []gridOdd // in no order
	// reach counts the block's points by reach class (tagReach): a
	// request with a reach counts the block by kinds too where every
	// class present is passed all over it, as the key has no reach in it.
	reach [8]int32
	// oddAt is where each of odd is, by id, once odd is long (a crowd
	// away at one postcode's centre): found from the first, each point's
	// removal as an update or a deletion reached it, and a crowd's
	// re-import (each update a removal and an add) cost the square of its
	// size under the engine's lock.
	oddAt map[uint32]int32
}

// gridOddIndexed is how long a block's odd list grows before it is
// indexed (gridHist.oddAt); half of it, and the index goes.
const gridOddIndexed = 64

// gridOdd is a point kept apart from its block's kinds of tag. away is,
// for one whose tag has tagAway and no other odd bit, what a night count
// needs to tell "away" from "not free" without reading the record, as
// the engine set it (Grid.setOddAway, gridAwayOf); gridAwayUnknown, the
// record must be read, until the engine says.
type gridOdd struct {
	id, tag uint32
	away    [2]int32
}

// gridAwayUnknown and gridAwayNever are gridOdd.away for a volunteer
// whose away days the grid does not know, and for one away on no day
// (whose tagAway is for the jobs they hold). Any other value is the one
// span of days (as piece.day) they are away, lo..hi.
var (
	gridAwayUnknown = [2]int32{math.MinInt32, math.MinInt32}
	gridAwayNever   = [2]int32{1, 0}
)

// setOddAway sets point id's gridOdd.away, if it is odd. Just after
// upsert, the point is its block's last odd one (gridHist.add appends):
// looked for from the first, an import of a crowd at one point (a
// postcode's centre) cost the square of its size under the lock.
func (g *Grid) setOddAway(id uint32, away [2]int32) {
	if uint(id) >= uint(len(g.slots)) || g.slots[id].bc == 0 {
		return
	}
	bi := g.slots[id].bc >> 8
	h := &g.hists[bi]
	if n := len(h.odd); n > 0 && h.odd[n-1].id == id {
		g.setAwayAt(bi, n-1, away)
		return
	}
	if i := h.oddIndex(id); i >= 0 {
		g.setAwayAt(bi, i, away)
	}
}

// oddIndex is where point id is in h.odd, or -1.
func (h *gridHist) oddIndex(id uint32) int {
	if h.oddAt != nil {
		if i, ok := h.oddAt[id]; ok {
			return int(i)
		}
		return -1
	}
	for i := range h.odd {
		if h.odd[i].id == id {
			return i
		}
	}
	return -1
}

// setAwayAt sets the away of block bi's odd point i, in its patch's
// tallies too.
func (g *Grid) setAwayAt(bi uint32, i int, away [2]int32) {
	o := &g.hists[bi].odd[i]
	if o.away == away {
		return
	}
	p := &g.patches[g.blockPatch[bi]]
	r := &g.regions[p.parent]
	p.remove(o.tag, o.away)
	r.remove(o.tag, o.away)
	o.away = away
	p.add(o.tag, away)
	r.add(o.tag, away)
}

// gridHistOdd are the tag bits that put a point in odd.
const gridHistOdd = tagAway | tagOtherZone | tagExpires

// gridHistKeyBits: a key holds the tag's bits tagVetShift..23 (vetting,
// expiry, paused, full, away, zone) and its skill bits above them; the
// count takes the rest of the word, and a kind with more points than it
// holds (a crowd at one postcode's centre) takes a second entry.
const (
	gridHistKeyBits  = 11
	gridHistKeyMask  = 1<<gridHistKeyBits - 1
	gridHistMaxCount = 1<<(32-gridHistKeyBits) - 1
)

func gridHistKey(tag uint32) uint32 {
	return tag>>tagVetShift&127 | (tag>>tagSkillShift&(1<<tagSkillBits-1))<<7
}

func (h *gridHist) add(e gridEntry) {
	h.reach[e.tag>>tagReachShift&7]++
	if e.tag&gridHistOdd != 0 {
		h.odd = append(h.odd, gridOdd{e.id, e.tag, gridAwayUnknown})
		switch n := len(h.odd); {
		case h.oddAt != nil:
			h.oddAt[e.id] = int32(n - 1)
		case n > gridOddIndexed:
			h.oddAt = make(map[uint32]int32, n)
			for i, o := range h.odd {
				h.oddAt[o.id] = int32(i)
			}
		}
		return
	}
	h.plain = addKind(h.plain, gridHistKey(e.tag))
}

// remove takes e out, and returns its away if it was odd (gridOdd.away).
func (h *gridHist) remove(e gridEntry) (away [2]int32) {
	h.reach[e.tag>>tagReachShift&7]--
	if e.tag&gridHistOdd != 0 {
		i := h.oddIndex(e.id)
		if i < 0 {
			panic("matcher: Grid: a point missing from its block's odd tags")
		}
		away = h.odd[i].away
		last := len(h.odd) - 1
		h.odd[i] = h.odd[last]
		h.odd = h.odd[:last]
		if h.oddAt != nil {
			delete(h.oddAt, e.id)
			if i < last {
				h.oddAt[h.odd[i].id] = int32(i) // the last, moved into its place
			}
			if last < gridOddIndexed/2 {
				h.oddAt = nil
			}
		}
		return
	}
	h.plain = removeKind(h.plain, gridHistKey(e.tag))
	return gridAwayUnknown
}

// gridHole fills every place in an arena that holds no point: the room
// left in runs, and runs that cells have left. Its latitude is no
// latitude, so that a sweep can read a block's arena from end to end,
// without the cell headers, and pass over the holes (count.go).
var gridHole = gridEntry{lat: math.MinInt32}

// fillHoles marks arena[lo:hi] as holes.
func (b *gridBlock) fillHoles(lo, hi uint32) {
	for i := lo; i < hi; i++ {
		b.arena[i] = gridHole
	}
}

// gridCell is a cell's run of the arena: entries arena[off:off+n], in a
// run of gridRun(n) entries, in a block whose arena has room for at most
// gridNarrowMax entries. gridWideCell is the same for a larger arena.
type gridCell struct {
	off, n uint16
}

type gridWideCell struct {
	off, n uint32
}

// gridNarrowMax is the most entries an arena with 16-bit headers holds.
const gridNarrowMax = 1<<16 - 1

// cell returns cell ci's run: entries arena[off:off+n]. A wide block's
// cells are all zero, so a cell that is not empty is read from the header
// line alone, without wide's line.
func (b *gridBlock) cell(ci uint32) (off, n uint32) {
	c := b.cells[ci&0xff]
	if c.n != 0 || b.wide == nil {
		return uint32(c.off), uint32(c.n)
	}
	w := &b.wide[ci&0xff]
	return w.off, w.n
}

// setCell sets cell ci's run; off+n must be within the arena's room.
func (b *gridBlock) setCell(ci, off, n uint32) {
	if b.wide != nil {
		b.wide[ci&0xff] = gridWideCell{off, n}
		return
	}
	b.cells[ci&0xff] = gridCell{uint16(off), uint16(n)}
}

// widen moves the block's headers to wide, before its arena is given
// room for more than gridNarrowMax entries.
func (b *gridBlock) widen() {
	if b.wide != nil {
		return
	}
	w := new([gridBlockSide * gridBlockSide]gridWideCell)
	for ci, c := range b.cells {
		w[ci] = gridWideCell{uint32(c.off), uint32(c.n)}
	}
	b.cells = [gridBlockSide * gridBlockSide]gridCell{}
	b.wide = w
}

// gridRun is the room a cell of n entries has: the next power of two.
// (After removals a run may be larger; it is reclaimed when the arena is
// rebuilt.)
func gridRun(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 1 << bits.Len32(n-1)
}

func (b *gridBlock) entries(ci uint32) []gridEntry {
	off, n := b.cell(ci)
	return b.arena[off : off+n]
}

// add appends e to cell ci and returns its position there.
func (b *gridBlock) add(ci uint32, e gridEntry) uint32 {
	off, n := b.cell(ci)
	if n == gridRun(n) && !b.grow(off, n) {
		if n >= 1<<31 {
			panic("matcher: Grid: too many points in one cell")
		}
		b.move(ci, gridRun(n+1))
		off, _ = b.cell(ci)
	}
	b.arena[off+n] = e
	b.setCell(ci, off, n+1)
	b.n++
	return n
}

// grow doubles the room of the full run arena[off:off+n] where it lies,
// and reports whether it could: when the n places after it hold no point
// (or lie past the arena's end, within its capacity). A run only ever
// takes room from the places after it, so, where every one of those is a
// hole, none is another cell's: that cell's first place would hold a
// point. A cell whose count goes back and forth over a power of two, as
// one does when a volunteer moves out and back, no longer moves to the
// arena's end each time it grows again, filling the arena, which was
// then rebuilt, every other cell copied, after every few moves.
func (b *gridBlock) grow(off, n uint32) bool {
	end := uint64(off) + 2*uint64(n)
	if n == 0 || end > uint64(cap(b.arena)) {
		return false
	}
	had := uint32(len(b.arena))
	for i := off + n; i < min(uint32(end), had); i++ {
		if b.arena[i].lat != gridHole.lat {
			return false
		}
	}
	if uint32(end) > had {
		b.arena = b.arena[:end]
		b.fillHoles(had, uint32(end))
	}
	return true
}

// move gives cell ci a run of room entries at the end of the arena. When
// the arena is full it is rebuilt first: every other cell copied, in cell
// order, into a run of gridRun(n), dropping the holes left by moved and
// emptied cells, in an arena with half as much room again, so rebuilds
// cost O(1) per added point.
func (b *gridBlock) move(ci, room uint32) {
	coff, cn := b.cell(ci)
	old := b.arena
	if len(old)+int(room) > cap(old) {
		need := int(room)
		for j := range uint32(len(b.cells)) {
			if j != ci {
				_, n := b.cell(j)
				need += int(gridRun(n))
			}
		}
		size := need + need/2 + 4
		if size > gridNarrowMax {
			b.widen()
		}
		b.arena = make([]gridEntry, 0, size)
		b.agg = gridAgg{} // rebuilt from the points still here, dropping stale bits
		b.skilled = [tagSkillBits][gridBlockSide]uint16{}
		b.late = [len(gridLateHour)][gridBlockSide]uint16{}
		for _, e := range old[coff : coff+cn] {
			b.agg.add(e.tag)
			b.markSkills(ci, e.tag)
		}
		for j := range uint32(len(b.cells)) {
			joff, jn := b.cell(j)
			if jn == 0 || j == ci {
				continue
			}
			off := uint32(len(b.arena))
			b.arena = append(b.arena, old[joff:joff+jn]...)
			for _, e := range old[joff : joff+jn] {
				b.agg.add(e.tag)
				b.markSkills(j, e.tag)
			}
			b.arena = b.arena[:int(off+gridRun(jn))]
			b.fillHoles(off+jn, off+gridRun(jn))
			b.setCell(j, off, jn)
		}
	}
	off := uint32(len(b.arena))
	b.arena = append(b.arena, old[coff:coff+cn]...)
	b.arena = b.arena[:int(off+room)]
	b.fillHoles(off+cn, off+room)
	if len(old) > 0 && &old[0] == &b.arena[0] {
		// The same arena: the run the cell left is a hole now (the room
		// in it already was).
		b.fillHoles(coff, coff+cn)
	}
	b.setCell(ci, off, cn)
}

// gridSlot locates point id: entry pos of cell bc&255 of blocks[bc>>8].
// bc == 0 means the id is absent (block indexes start at 1).
type gridSlot struct {
	bc, pos uint32
}

// gridBand is what a band of 16 rows needs to place a longitude in a
// column.
type gridBand struct {
	colsPerDegree float64 // columns per degree of longitude
	degPerCol     float64 // its inverse
}

// NewGrid returns an empty grid of cells of about cellMetres (~100 m is the
// intended default). It panics if cellMetres <= 0, or is not finite, or is
// under 1 mm (where cell coordinates would overflow).
func NewGrid(cellMetres float64) *Grid {
	if !(cellMetres >= 0.001) || math.IsInf(cellMetres, 0) {
		panic(fmt.Sprintf("matcher: NewGrid(%v): cell size must be a finite number of metres, at least 0.001", cellMetres))
	}
	rows := gridMetresPerDeg / cellMetres
	return &Grid{
		rowsPerDegree: rows,
		metresPerRow:  gridMetresPerDeg / rows,
		blockOf:       map[uint64]*gridBlock{},
		blocks:        []*gridBlock{nil},
		hists:         []gridHist{{}},
		aggs:          []gridAgg{{}},
		groups:        []gridAgg{{}},
		patches:       []gridPatch{{}},
		patchOf:       map[uint64]uint32{},
		blockPatch:    []uint32{0},
		regions:       []gridPatch{{}},
		regionOf:      map[uint64]uint32{},
	}
}

func gridKey(by, bx int64) uint64 {
	return uint64(uint32(int32(by)))<<32 | uint64(uint32(int32(bx)))
}

// band returns band b's column scale, and false if no point has ever been
// in band b.
func (g *Grid) band(b int64) (gridBand, bool) {
	i := b - g.bandLo
	if i < 0 || i >= int64(len(g.bands)) {
		return gridBand{}, false
	}
	return g.bands[i], true
}

// growBand returns band b's column scale, first extending the table to
// cover it. The scale depends only on b, so a point keeps its cell however
// the table grows.
func (g *Grid) growBand(b int64) gridBand {
	if len(g.bands) == 0 {
		g.bandLo = b
		g.bands = []gridBand{g.bandScale(b)}
	}
	if b < g.bandLo {
		grown := make([]gridBand, int(g.bandLo-b)+len(g.bands))
		copy(grown[g.bandLo-b:], g.bands)
		for i := b; i < g.bandLo; i++ {
			grown[i-b] = g.bandScale(i)
		}
		g.bands, g.bandLo = grown, b
	}
	for hi := g.bandLo + int64(len(g.bands)); b >= hi; hi++ {
		g.bands = append(g.bands, g.bandScale(hi))
	}
	return g.bands[b-g.bandLo]
}

// bandScale makes the cells of band b square at its middle latitude.
func (g *Grid) bandScale(b int64) gridBand {
	lat := (float64(b)*gridBlockSide + gridBlockSide/2) / g.rowsPerDegree
	lat = math.Max(-89, math.Min(89, lat))
	cols := g.rowsPerDegree * math.Cos(lat*math.Pi/180)
	return gridBand{colsPerDegree: cols, degPerCol: 1 / cols}
}

// Len is the number of points in the grid.
func (g *Grid) Len() int { return g.n }

// Position returns where point id is, as stored: rounded to 2^-23 degree
// (about a centimetre), and exactly the coordinates Nearest and Within
// measure from.
func (g *Grid) Position(id uint32) (lat, lng float64, ok bool) {
	if uint(id) >= uint(len(g.slots)) {
		return 0, 0, false
	}
	sl := g.slots[id]
	if sl.bc == 0 {
		return 0, 0, false
	}
	e := g.blocks[sl.bc>>8].entries(sl.bc & 0xff)[sl.pos]
	return float64(e.lat) * gridDegreePerFixed, float64(e.lng) * gridDegreePerFixed, true
}

// entry is point id's entry; id must be in the grid.
func (g *Grid) entry(id uint32) *gridEntry {
	sl := g.slots[id]
	return &g.blocks[sl.bc>>8].entries(sl.bc & 0xff)[sl.pos]
}

// warm reads, level by level, what upsert reads in turn of the point at
// sl, whose slot the caller read beside its own loads, moving to (lat,
// lng): the block's place (by, bx: past the cell headers, on a line of its
// own), its kinds of tag and its patch's, then the point's cell header and
// the one it moves to, then its entry (Engine.warmUpsert).
func (g *Grid) warm(sl gridSlot, lat, lng float64) uint32 {
	bi := sl.bc >> 8
	if bi == 0 || int(bi) >= len(g.blocks) || int(bi) >= len(g.hists) || g.blocks[bi] == nil {
		return 0
	}
	blk, h := g.blocks[bi], &g.hists[bi]
	sink := uint32(blk.by) + uint32(h.reach[0])
	var patch *gridPatch
	if int(bi) < len(g.blockPatch) {
		patch = &g.patches[g.blockPatch[bi]]
	}
	off, n := blk.cell(sl.bc & 0xff)
	// The kinds of tag of the block, its patch and its region, which a
	// point whose kind changes is counted out of and into (histSwap).
	if len(h.plain) > 0 {
		sink += h.plain[0]
	}
	if patch != nil && len(patch.plain) > 0 && int(patch.parent) < len(g.regions) {
		sink += patch.plain[0] + uint32(len(g.regions[patch.parent].plain))
	}
	if sl.pos < n && int(off+sl.pos) < len(blk.arena) {
		sink += blk.arena[off+sl.pos].tag
	}
	// The cell the point moves to, if in the same block, as a move of a
	// street or two mostly is: its header, and its row of the marks put
	// sets.
	if ci, ok := g.cellIn(blk, lat, lng); ok {
		to, _ := blk.cell(ci)
		row := ci >> gridBlockShift
		sink += to + uint32(blk.skilled[0][row]) + uint32(blk.late[0][row])
	}
	return sink
}

// cellIn is the cell of blk that place puts (lat, lng) in, if it is in
// blk; without place's growing the bands.
func (g *Grid) cellIn(blk *gridBlock, lat, lng float64) (uint32, bool) {
	cy := g.rowOf(gridStored(lat))
	band := int64(blk.by) - g.bandLo
	if cy>>gridBlockShift != int64(blk.by) || band < 0 || band >= int64(len(g.bands)) {
		return 0, false
	}
	cx := colOf(gridStored(lng), g.bands[band])
	if cx>>gridBlockShift != int64(blk.bx) {
		return 0, false
	}
	return cellIndex(cy, cx), true
}

// Upsert inserts point id at (lat, lng), or moves it there. Ids are dense
// small integers chosen by the caller: the grid keeps a slot for every id up
// to the largest seen, 8 bytes each. It panics if (lat, lng) is not a
// coordinate on Earth (see geo.ValidLatLng).
func (g *Grid) Upsert(id uint32, lat, lng float64) {
	g.upsert(id, lat, lng, 0)
}

// upsert is Upsert with the point's tag, which Nearest hands to a tagged
// filter (nearestTagged).
func (g *Grid) upsert(id uint32, lat, lng float64, tag uint32) {
	at := g.place(id, lat, lng, tag)
	e, plng, key, ci := at.e, at.plng, at.key, at.ci
	g.minLng, g.maxLng = math.Min(g.minLng, plng), math.Max(g.maxLng, plng)
	if g.n == 0 && len(g.blockOf) == 0 {
		g.minLng, g.maxLng = plng, plng
	}

	if int(id) >= len(g.slots) {
		g.slots = append(g.slots, make([]gridSlot, int(id)+1-len(g.slots))...)
	}
	if sl := g.slots[id]; sl.bc != 0 {
		blk := g.blocks[sl.bc>>8]
		switch {
		case gridKey(int64(blk.by), int64(blk.bx)) != key:
		case sl.bc&0xff == ci:
			cell := blk.entries(ci)
			g.histSwap(blk.index, cell[sl.pos], e)
			cell[sl.pos] = e // same cell: move in place
			was := blk.agg
			blk.agg.add(tag)
			g.syncAggIf(blk, was)
			blk.markSkills(ci, tag)
			return
		case blk.n > 1:
			// Another cell of the same block, which a move of a street
			// or two mostly is: the block's kinds of tag and its patch's
			// change only as the tag does, and the block is at hand.
			g.histSwap(blk.index, blk.entries(sl.bc & 0xff)[sl.pos], e)
			g.cut(blk, sl)
			g.n--
			g.put(blk, id, ci, e)
			return
		}
		g.removeSlot(sl)
		g.n--
	}
	blk := g.blockOf[key]
	if blk == nil {
		blk = g.newBlock(at.by, at.bx, key)
	}
	g.histAdd(blk.index, e)
	g.put(blk, id, ci, e)
}

// put adds point id, counted in its block's kinds of tag already, to
// cell ci of blk.
func (g *Grid) put(blk *gridBlock, id, ci uint32, e gridEntry) {
	bi := blk.index
	blk.occ[ci>>gridBlockShift] |= 1 << (ci & gridBlockMask)
	blk.cols |= 1 << (ci & gridBlockMask)
	was := blk.agg
	g.slots[id] = gridSlot{bc: bi<<8 | ci, pos: blk.add(ci, e)}
	blk.agg.add(e.tag) // after add, whose rebuild recomputes the rest
	g.syncAggIf(blk, was)
	blk.markSkills(ci, e.tag)
	g.n++
}

// syncAggIf is syncAgg for blk if its aggregate is no longer was, the
// one it had when last synced: unchanged, as it mostly is, the copy and
// the unions above it claim it already, and reading them cost a cache
// miss or two a write.
func (g *Grid) syncAggIf(blk *gridBlock, was gridAgg) {
	if blk.agg != was {
		g.syncAgg(blk)
	}
}

// gridPlace is where a point goes: its entry (coordinates rounded as
// stored), and the block and cell that hold it.
type gridPlace struct {
	e      gridEntry
	plng   float64 // the stored longitude, in degrees
	by, bx int64
	key    uint64 // gridKey(by, bx)
	ci     uint32 // the cell within the block
}

// gridStored is a coordinate in degrees as the grid stores it, rounded to
// its fixed point: distances from it are the ones a search reports.
func gridStored(deg float64) float64 {
	return math.Round(deg*gridFixedPerDegree) * gridDegreePerFixed
}

// place rounds a point to its entry and finds its cell, growing the band
// it falls in if need be; it panics as Upsert documents.
func (g *Grid) place(id uint32, lat, lng float64, tag uint32) gridPlace {
	if !geo.ValidLatLng(lat, lng) {
		panic(fmt.Sprintf("matcher: Grid.Upsert(%d, %v, %v): not a valid latitude and longitude", id, lat, lng))
	}
	e := gridEntry{id: id, lat: int32(math.Round(lat * gridFixedPerDegree)), lng: int32(math.Round(lng * gridFixedPerDegree)), tag: tag}
	plat := float64(e.lat) * gridDegreePerFixed
	plng := float64(e.lng) * gridDegreePerFixed
	cy := g.rowOf(plat)
	by := cy >> gridBlockShift
	cx := colOf(plng, g.growBand(by))
	bx := cx >> gridBlockShift
	return gridPlace{e: e, plng: plng, by: by, bx: bx, key: gridKey(by, bx), ci: cellIndex(cy, cx)}
}

// rowOf is the row of cells holding stored latitude plat; colOf the
// column holding stored longitude plng in band's scale; cellIndex the
// cell at (cy, cx) within its block.
func (g *Grid) rowOf(plat float64) int64 { return int64(math.Floor(plat * g.rowsPerDegree)) }
func colOf(plng float64, band gridBand) int64 {
	return int64(math.Floor(plng * band.colsPerDegree))
}
func cellIndex(cy, cx int64) uint32 {
	return uint32((cy&gridBlockMask)<<gridBlockShift | cx&gridBlockMask)
}

// gridPoint is a point for load.
type gridPoint struct {
	id       uint32
	lat, lng float64
	tag      uint32
}

// load fills an empty grid with pts (distinct ids) at once, leaving it as
// the same Upserts would, less the slack: each block's arena is one
// allocation holding exactly its cells' runs, where inserting one by one
// moves every cell each time its run fills and rebuilds every arena as it
// grows.
func (g *Grid) load(pts []gridPoint) {
	if g.n != 0 || len(g.blockOf) != 0 {
		panic("matcher: Grid.load into a grid that is not empty")
	}
	if len(pts) == 0 {
		return
	}
	entries := make([]gridEntry, len(pts))
	where := make([]uint32, len(pts)) // block index << 8 | cell
	maxID := uint32(0)
	var last *gridBlock
	lastKey := uint64(0)
	for i, p := range pts {
		at := g.place(p.id, p.lat, p.lng, p.tag)
		e, plng, key, ci := at.e, at.plng, at.key, at.ci
		if i == 0 {
			g.minLng, g.maxLng = plng, plng
		}
		g.minLng, g.maxLng = math.Min(g.minLng, plng), math.Max(g.maxLng, plng)
		if last == nil || key != lastKey {
			last = g.blockOf[key]
			if last == nil {
				last = g.newBlock(at.by, at.bx, key)
			}
			lastKey = key
		}
		last.n++
		entries[i] = e
		where[i] = last.index<<8 | ci
		maxID = max(maxID, p.id)
	}
	// Points per cell, by block index << 8 | cell (as where): a cell may
	// hold more than its 16-bit header can until the block's size is known.
	counts := make([]uint32, len(g.blocks)<<8)
	for _, w := range where {
		counts[w]++
	}
	for _, blk := range g.blocks[1:] {
		total := uint64(0)
		n := counts[blk.index<<8 : (blk.index+1)<<8]
		for _, c := range n {
			if c >= 1<<31 {
				panic("matcher: Grid: too many points in one cell")
			}
			total += uint64(gridRun(c))
		}
		if total > gridNarrowMax {
			blk.widen()
		}
		total = 0
		for ci, c := range n {
			if c > 0 {
				blk.setCell(uint32(ci), uint32(total), 0)
				total += uint64(gridRun(c))
				blk.occ[ci>>gridBlockShift] |= 1 << (ci & gridBlockMask)
				blk.cols |= 1 << (ci & gridBlockMask)
			}
		}
		blk.arena = make([]gridEntry, total)
	}
	g.slots = make([]gridSlot, maxID+1)
	for i, e := range entries {
		blk := g.blocks[where[i]>>8]
		ci := where[i] & 0xff
		off, n := blk.cell(ci)
		blk.arena[off+n] = e
		blk.agg.add(e.tag)
		g.histAdd(blk.index, e)
		blk.markSkills(ci, e.tag)
		g.slots[e.id] = gridSlot{bc: where[i], pos: n}
		blk.setCell(ci, off, n+1)
	}
	for _, blk := range g.blocks[1:] {
		for ci := range uint32(len(blk.cells)) {
			if off, n := blk.cell(ci); n > 0 {
				blk.fillHoles(off+n, off+gridRun(n))
			}
		}
		g.syncAgg(blk)
	}
	g.n = len(pts)
}

func (g *Grid) newBlock(by, bx int64, key uint64) *gridBlock {
	var blk *gridBlock
	if n := len(g.freeBlocks); n > 0 {
		blk = g.blocks[g.freeBlocks[n-1]]
		g.freeBlocks = g.freeBlocks[:n-1]
	} else {
		if len(g.blocks) >= 1<<24 {
			panic("matcher: Grid: too many blocks")
		}
		blk = &gridBlock{index: uint32(len(g.blocks))}
		g.blocks = append(g.blocks, blk)
		g.hists = append(g.hists, gridHist{})
		g.aggs = append(g.aggs, gridAgg{})
		if int(blk.index>>gridGroupShift) == len(g.groups) {
			g.groups = append(g.groups, gridAgg{})
		}
	}
	blk.by, blk.bx = int32(by), int32(bx)
	g.blockOf[key] = blk
	g.joinPatch(blk)
	return blk
}

// Remove deletes point id, and reports whether it was there.
func (g *Grid) Remove(id uint32) bool {
	if uint(id) >= uint(len(g.slots)) || g.slots[id].bc == 0 {
		return false
	}
	g.removeSlot(g.slots[id])
	g.n--
	return true
}

// removeSlot takes the point at sl out of its cell by moving the cell's last
// entry into its place, and clears its slot.
func (g *Grid) removeSlot(sl gridSlot) {
	blk := g.blocks[sl.bc>>8]
	g.histRemove(sl.bc>>8, blk.entries(sl.bc & 0xff)[sl.pos])
	g.cut(blk, sl)
}

// cut is removeSlot but for the kinds of tag, which the caller keeps.
func (g *Grid) cut(blk *gridBlock, sl gridSlot) {
	bi, ci := sl.bc>>8, sl.bc&0xff
	off, n := blk.cell(ci)
	cell := blk.arena[off : off+n]
	last := len(cell) - 1
	g.slots[cell[sl.pos].id] = gridSlot{}
	if int(sl.pos) != last {
		moved := cell[last]
		cell[sl.pos] = moved
		g.slots[moved.id].pos = sl.pos
	}
	cell[last] = gridHole
	if n--; n > 0 {
		blk.setCell(ci, off, n)
	} else {
		// The run is reclaimed by the arena's next rebuild.
		blk.setCell(ci, 0, 0)
		blk.occ[ci>>gridBlockShift] &^= 1 << (ci & gridBlockMask)
		for b := range blk.skilled {
			blk.skilled[b][ci>>gridBlockShift] &^= 1 << (ci & gridBlockMask)
		}
		for i := range blk.late {
			blk.late[i][ci>>gridBlockShift] &^= 1 << (ci & gridBlockMask)
		}
		blk.cols = 0
		for _, o := range blk.occ {
			blk.cols |= o
		}
	}
	if blk.n--; blk.n == 0 {
		blk.arena = nil
		blk.wide = nil // its headers are all zero, as cells' are
		blk.agg = gridAgg{}
		g.syncAgg(blk)
		g.leavePatch(bi)
		blk.skilled = [tagSkillBits][gridBlockSide]uint16{}
		blk.late = [len(gridLateHour)][gridBlockSide]uint16{}
		g.hists[bi] = gridHist{}
		delete(g.blockOf, gridKey(int64(blk.by), int64(blk.bx)))
		g.freeBlocks = append(g.freeBlocks, bi)
	}
}

// Neighbour is one search result.
type Neighbour struct {
	ID     uint32
	Metres float64
}

// ApproxMetres is the distance the grid uses: an equirectangular approximation, accurate to well under
// 0.5% at the distances it is used for (under 50 km) in UK latitudes; exported so callers rank with the
// same numbers.
//
// It is the Euclidean distance after scaling the longitude difference by
// the cosine of the mean latitude (relative error against the great circle
// about 1e-5 at 50 km), symmetric in its two points, and computed without a
// call to math.Cos: it is evaluated for every candidate a search looks at.
// Longitudes are not wrapped at ±180.
func ApproxMetres(lat1, lng1, lat2, lng2 float64) float64 {
	dlat := lat2 - lat1
	x := float64((lng2 - lng1) * gridCosDeg((lat1+lat2)*0.5))
	// The conversions forbid fused multiply-adds, so the result is the same
	// on every architecture and wherever this is inlined.
	return gridMetresPerDeg * math.Sqrt(float64(dlat*dlat)+float64(x*x))
}

// gridCosDeg is cos(deg°) for |deg| <= 90 by its Taylor series to the 14th
// power: the error is under 7e-11 (1e-11 at UK latitudes).
func gridCosDeg(deg float64) float64 {
	x := deg * (math.Pi / 180)
	t := float64(x * x)
	p := -1.0 / 87178291200
	p = float64(p*t) + 1.0/479001600
	p = float64(p*t) - 1.0/3628800
	p = float64(p*t) + 1.0/40320
	p = float64(p*t) - 1.0/720
	p = float64(p*t) + 1.0/24
	p = float64(p*t) - 0.5
	return float64(p*t) + 1
}

// gridCosBound is a lower bound on the cosine of the mean latitude of
// (lat, ·) and any point within metres of it, as ApproxMetres computes it
// (gridCosDeg is within 1e-10 of the cosine, and decreasing in |deg|).
func gridCosBound(lat, metres float64) float64 {
	a := math.Abs(lat) + metres/gridMetresPerDeg*(0.5+gridSlackRel) + 1e-9
	if !(a < 90) {
		return 0
	}
	return math.Max(0, gridCosDeg(a)*(1-gridSlackRel)-1e-9)
}

// gridSearch is the state of one Nearest or Within call. It lives on the
// caller's stack and never writes to the grid, so searches can run
// concurrently.
type gridSearch struct {
	g        *Grid
	lat, lng float64
	uq       float64 // the query's latitude in rows
	qy       int64   // the query's row
	rowLo    int64   // rows that can hold points
	rowHi    int64

	maxMetres float64
	cosMin    float64 // see gridCosBound
	cosFor    float64 // the radius cosMin was computed for

	// The bound: maxMetres, or the k-th result's distance once there are
	// k. Anything whose lower bound exceeds it is skipped; the squared and
	// per-axis forms include the slack.
	bound   float64
	boundSq float64
	degSq   float64 // the squared bound in degrees of latitude
	dlatMax float64 // degrees of latitude
	dlngMax float64 // degrees of longitude

	k      int
	accept func(id uint32, metres float64) bool
	// tq, if set, is the engine's query, whose rules decide instead of
	// accept (query.eligible). Until k are accepted, it turns points away
	// by their tags before their distance is computed (query.tagRejects):
	// most points a search passes are not eligible, and their tags show
	// it. Points within the bound are held back (pending) and offered in
	// a batch, after the records the rules will read have been read ahead
	// in loops whose loads do not depend on each other
	// (Engine.warmRecords), so that the cache misses overlap rather than
	// follow one another; offered in the same order, each against the
	// bound as it then is, they give what offering them one by one gives.
	// And it passes over blocks whose aggregate shows that nobody in them
	// can be eligible (query.hopeless).
	tq *query
	// need are the skill bits (tag.go) every eligible point's tag has, so
	// that cells holding nobody with them are not read (rowCells).
	need uint32
	// limits says the volunteers' own distance limits apply (tq is not
	// remote), so that scan turns away one surely beyond its own.
	limits bool
	// late, if not 0, is 1 + the index of gridBlock.late that tq's
	// window may use (lateIndex), so that cells holding nobody who may be
	// free then are not read (rowCells).
	late    uint32
	pending [64]gridPending
	npend   int
	// tt is tq's rules as tables (tagTable), built once a search has read
	// gridTableAfter points: a long search judges enough tags for the
	// tables' branch-free verdicts to repay building them.
	tt      *tagTable
	ttBuf   tagTable // what tt points to, so that building it allocates nothing
	ttTried bool
	res     []Neighbour // res[start:] is a max-heap of the best so far
	start   int

	within func(id uint32, metres float64) bool // Within's callback, or nil for Nearest
	done   bool                                 // Within's callback said stop, or the budget ran out

	// budget, if not 0, is how many points a search may read while it has
	// fewer than k: past it, it gives up (gaveUp) rather than read on,
	// unless what it has found so far, spread over its whole reach,
	// promises k (likelyShort). It asks that first at a quarter of the
	// budget and at half (stage counts the times asked), and never before
	// the 3×3 cells around the query are read (see scan): a search that
	// will end short pays for every point it reads before it gives up,
	// only for the sweep to read them again.
	budget int
	stage  uint8
	gaveUp bool
	// short is the k the budget judges against: a search may ask for
	// more than it must find not to give up (Engine.search asks for a
	// few more where a recent assignment may push one of the nearest
	// down the ranking), and which searches sweep stays as it was.
	short int

	bandCache [4]gridBandView

	// The 3×3 blocks around the query's, which hold every cell of the
	// first 16 rings: nbBand[i] is band qb-1+i as seen from the query and
	// nbBlock[i][j] its block in column (qx>>4)-1+j, looked up when first
	// needed (bit 3i+j of nbHave).
	qb      int64
	nbBand  [3]gridBandView
	nbBlock [3][3]*gridBlock
	nbHave  uint16
	nbViews uint8 // bit i: nbBand[i] has been computed

	// Cells found by the ring walks, in ring order: queue[head:tail]
	// waits to be scanned, and ring r's cells end at ringEnd[r]. Beyond
	// the cell rings it holds the cells of a ring of blocks (scanBlock).
	queue      [gridQueueLen]gridQueued
	head, tail int
	ringEnd    [gridCellRings + 1]int
	sink       uint32

	// Counters for the tests and benchmarks.
	cellsScanned  int
	pointsScanned int
	rings         int
}

// gridPending is a point waiting to be offered.
type gridPending struct {
	id, tag uint32
	d       float64
	tagged  bool // the scan judged the tag already, and it left the point undecided
}

// flushPending offers the points held back, in order.
func (s *gridSearch) flushPending() {
	p := s.pending[:s.npend]
	s.npend = 0
	if len(p) == 0 {
		return
	}
	var ids [len(s.pending)]uint32
	for i := range p {
		ids[i] = p[i].id
	}
	s.tq.e.warmRecords(ids[:len(p)])
	for i := range p {
		if p[i].d <= s.bound {
			s.offer(p[i].id, p[i].tag, p[i].d, p[i].tagged)
		}
	}
}

// gridQueued is a cell waiting to be scanned, with the square of its
// least distance from the query (rounded to float32, so compared with a
// little slack).
type gridQueued struct {
	blk  *gridBlock
	ci   uint32
	lbSq float32
}

// gridQueueLen holds a few rings; a larger ring is walked alone, and if
// it overflows the queue (as a ring of blocks may) its cells queued so
// far are scanned early.
const gridQueueLen = 48

func (s *gridSearch) enqueue(blk *gridBlock, ci uint32, lbSq float64) {
	if s.tail == gridQueueLen {
		s.touch(s.head)
		s.scanTo(s.tail)
		s.head, s.tail = 0, 0
	}
	s.queue[s.tail] = gridQueued{blk: blk, ci: ci, lbSq: float32(lbSq)}
	s.tail++
}

// touch reads the first entry of every queued cell from i on. A search
// spends most of its time waiting for memory, and Go has no prefetch:
// reading a batch of cells' entries in one loop, whose loads do not depend
// on each other, makes their cache misses overlap instead of following one
// another as the scan would.
func (s *gridSearch) touch(i int) {
	q := s.queue[i:s.tail]
	sink := s.sink
	for j := range q {
		b := q[j].blk
		off, _ := b.cell(q[j].ci)
		sink += b.arena[off].id
	}
	s.sink = sink
}

// scanRing scans the queued cells of ring r that may still be within the
// bound.
func (s *gridSearch) scanRing(r int64) {
	s.scanTo(s.ringEnd[r])
}

func (s *gridSearch) scanTo(end int) {
	for j := s.head; j < end && !s.done; j++ {
		if q := &s.queue[j]; float64(q.lbSq) <= s.boundSq*(1+1e-6) {
			s.scan(q.blk.entries(q.ci))
		}
	}
	// The points held back are offered here only if they could bring the
	// search to k, and so tighten the bound that decides whether the next
	// ring is read: with fewer, offering them changes nothing the search
	// decides before the next flush, and held on they have their records
	// read ahead with the next ring's, in one batch rather than two. A
	// search waits for memory batch by batch; this halves the batches of
	// record reads (5.3 to 2.2 a request).
	if len(s.res)-s.start+s.npend >= s.k {
		s.flushPending()
	}
	s.head = end
}

// drain scans every queued cell that may still be within the bound,
// their first entries touched together, and empties the queue.
func (s *gridSearch) drain() {
	s.touch(s.head)
	s.scanTo(s.tail)
	s.head, s.tail = 0, 0
}

// walkRing queues the cells of ring r.
func (s *gridSearch) walkRing(r int64) {
	if r == 0 {
		s.walkRow(s.qy, 0)
	} else {
		s.walkRow(s.qy+r, r)
		s.walkRow(s.qy-r, r)
		s.walkSides(r)
	}
	s.ringEnd[r] = s.tail
}

// gridBandView is one band as seen from the query.
type gridBandView struct {
	b            int64
	ok           bool    // computed for this search
	has          bool    // the band can hold points
	vq           float64 // the query's longitude in this band's columns
	qx           int64   // the query's column in this band
	colLo, colHi int64   // columns that can hold points
	metresPerCol float64 // a column's width in degrees × gridMetresPerDeg
	kx           float64 // metresPerCol × cosMin: for lower bounds
}

func (s *gridSearch) init(g *Grid, lat, lng, maxMetres float64) {
	s.g = g
	s.lat, s.lng = lat, lng
	s.uq = lat * g.rowsPerDegree
	s.qy = int64(math.Floor(s.uq))
	s.rowLo = g.bandLo << gridBlockShift
	s.rowHi = (g.bandLo+int64(len(g.bands)))<<gridBlockShift - 1
	s.maxMetres = maxMetres
	s.cosMin = gridCosBound(lat, maxMetres)
	s.cosFor = maxMetres
	s.setBound(maxMetres)
}

func (s *gridSearch) setBound(b float64) {
	s.bound = b
	t := b*(1+gridSlackRel) + gridSlackAbs
	s.boundSq = t * t
	s.dlatMax = t / gridMetresPerDeg
	s.degSq = s.dlatMax * s.dlatMax
	if s.cosMin > 0 {
		s.dlngMax = t / (gridMetresPerDeg * s.cosMin)
	} else {
		s.dlngMax = math.Inf(1)
	}
}

// tightenCos recomputes cosMin for the current bound once it has halved:
// it only matters for searches that started with a huge maxMetres.
func (s *gridSearch) tightenCos() {
	if s.bound < s.cosFor/2 {
		s.cosMin = gridCosBound(s.lat, s.bound)
		s.cosFor = s.bound
		s.bandCache = [4]gridBandView{}
		for i := range s.nbBand {
			s.nbBand[i].kx = s.nbBand[i].metresPerCol * s.cosMin
		}
		s.setBound(s.bound)
	}
}

func (s *gridSearch) beyond(lb float64) bool {
	return lb > s.bound*(1+gridSlackRel)+gridSlackAbs
}

// band returns band b as seen from the query, through a small cache.
func (s *gridSearch) band(b int64) *gridBandView {
	v := &s.bandCache[b&3]
	if !v.ok || v.b != b {
		*v = s.view(b)
	}
	return v
}

func (s *gridSearch) view(b int64) gridBandView {
	v := gridBandView{b: b, ok: true}
	bd, has := s.g.band(b)
	if !has {
		return v
	}
	v.has = true
	v.vq = s.lng * bd.colsPerDegree
	v.qx = int64(math.Floor(v.vq))
	v.colLo = int64(math.Floor(s.g.minLng * bd.colsPerDegree))
	v.colHi = int64(math.Floor(s.g.maxLng * bd.colsPerDegree))
	v.metresPerCol = bd.degPerCol * gridMetresPerDeg
	v.kx = v.metresPerCol * s.cosMin
	return v
}

// nbView returns band i of the query's neighbourhood.
func (s *gridSearch) nbView(i int) *gridBandView {
	if s.nbViews&(1<<i) == 0 {
		s.nbBand[i] = s.view(s.qb - 1 + int64(i))
		s.nbViews |= 1 << i
	}
	return &s.nbBand[i]
}

// nb returns block j of band i of the query's neighbourhood (nil if there
// is none).
func (s *gridSearch) nb(i, j int) *gridBlock {
	if s.nbHave&(1<<(3*i+j)) != 0 {
		return s.nbBlock[i][j]
	}
	return s.lookupNB(i, j)
}

func (s *gridSearch) lookupNB(i, j int) *gridBlock {
	var blk *gridBlock
	if bv := s.nbView(i); bv.has {
		blk = s.g.blockOf[gridKey(s.qb-1+int64(i), bv.qx>>gridBlockShift-1+int64(j))]
		if blk != nil && s.tq != nil && s.tq.hopeless(&blk.agg) {
			blk = nil
		}
	}
	s.nbBlock[i][j] = blk
	s.nbHave |= 1 << (3*i + j)
	return blk
}

// rowCells is the cells of row row of blk that the search reads: those
// not empty and, for a query that needs skills, holding someone with
// each of them (gridBlock.skilled). Every other point there lacks a skill
// the rules require, so leaving them unread changes nothing found.
func (s *gridSearch) rowCells(blk *gridBlock, row int64) uint32 {
	cells := blk.occ[row]
	if s.late != 0 {
		cells &= blk.late[s.late-1][row]
	}
	for n := s.need; n != 0; n &= n - 1 {
		cells &= blk.skilled[bits.TrailingZeros32(n)][row]
	}
	return uint32(cells)
}

// rowGap is how many rows lie between the query and row cy (0 in it).
func (s *gridSearch) rowGap(cy int64) float64 {
	return max(0, float64(cy)-s.uq, s.uq-float64(cy+1))
}

// colGap is how many columns lie between vq and column cx (0 in it).
func colGap(cx int64, vq float64) float64 {
	return max(0, float64(cx)-vq, vq-float64(cx+1))
}

// Nearest appends to dst up to k points nearest to (lat,lng) within maxMetres (inclusive), for which
// accept(id, metres) returns true (accept may be nil = accept all), ordered by distance then by id,
// and returns the extended slice. It visits cells ring by ring outward and stops as soon as no unvisited
// cell can hold a point nearer than the current k-th accepted result or nearer than maxMetres.
// accept is called at most once per point within maxMetres that is visited, in no particular order.
//
// Distances are ApproxMetres from (lat, lng) to the stored Position. accept
// is only asked about points that would enter the current best k, and must
// not modify the grid; when fewer than k results are returned, it has been
// asked about every point within maxMetres, exactly once. maxMetres may be
// +Inf. An invalid (lat, lng), k <= 0 or a negative or NaN maxMetres find
// nothing. It does not allocate when dst has room for k more.
func (g *Grid) Nearest(dst []Neighbour, lat, lng float64, k int, maxMetres float64, accept func(id uint32, metres float64) bool) []Neighbour {
	var s gridSearch
	s.nearest(g, dst, lat, lng, k, maxMetres, accept)
	return s.res
}

// nearestTagged is Nearest for the engine's query q, whose rules are the
// filter, read ahead in batches, that turns most points away by their
// tags and passes over blocks where nobody can be eligible (see
// gridSearch.tq).
//
// With a budget (not 0), a search that has read more than budget points
// and still has fewer than short (at most k) gives up: it returns false,
// and dst as it was.
func (g *Grid) nearestTagged(dst []Neighbour, lat, lng float64, k int, maxMetres float64, q *query, budget, short int) ([]Neighbour, bool) {
	// The search's state (about 3 KB) comes from a pool rather than the
	// stack: a server runs each call on a new goroutine, whose small first
	// stack would otherwise be grown, and copied, on every call.
	s := gridSearchPool.Get().(*gridSearch)
	defer func() {
		*s = gridSearch{} // holds nothing of this call's
		gridSearchPool.Put(s)
	}()
	s.tq, s.budget, s.short = q, budget, min(short, k)
	if q.tag.skillsOK {
		s.need = q.tag.skills
	}
	s.late = lateIndex(q)
	s.limits = !q.remote
	s.nearest(g, dst, lat, lng, k, maxMetres, nil)
	if s.gaveUp {
		return dst, false
	}
	return s.res, true
}

// lateIndex is gridSearch.late for q: the latest gridLateHour whose
// day's hours (gridDayHours) q's window touches none of. A point in the
// first time zone whose span of hours (tagSpan) lies within those is
// free at none of the window's hours, and its tag turns it away
// (tagRules, or awayMissesHours if it is away), as hopeless does a
// block. Only where q's window's hours in the first time zone are known
// (wmOK).
func lateIndex(q *query) uint32 {
	if !q.tag.wmOK {
		return 0
	}
	late := uint32(0)
	for i := range gridLateHour {
		if q.tag.wmAny&gridDayHours(i) == 0 {
			late = uint32(i) + 1
		}
	}
	return late
}

var gridSearchPool = sync.Pool{New: func() any { return new(gridSearch) }}

// gridCosMax is an upper bound on the cosine of the mean latitude of
// (lat, ·) and any point within metres of it, as ApproxMetres computes it.
func gridCosMax(lat, metres float64) float64 {
	a := math.Abs(lat) - metres/gridMetresPerDeg*(0.5+gridSlackRel) - 1e-9
	if !(a > 0) {
		return 1 + 1e-9
	}
	return gridCosDeg(a)*(1+gridSlackRel) + 1e-9
}

func (s *gridSearch) nearest(g *Grid, dst []Neighbour, lat, lng float64, k int, maxMetres float64, accept func(id uint32, metres float64) bool) {
	s.res = dst
	if k <= 0 || g.n == 0 || !(maxMetres >= 0) || !geo.ValidLatLng(lat, lng) {
		return
	}
	if s.tq != nil && g.hopelessEverywhere(s.tq) {
		// Nobody anywhere can be eligible (a remote call at night): the
		// search would pass over every block, in rings around the query
		// and then the rest, each found hopeless, and find nothing.
		return
	}
	s.init(g, lat, lng, maxMetres)
	s.k, s.accept, s.start = k, accept, len(dst)
	s.qb = s.qy >> gridBlockShift
	if s.budget > 0 && s.nobodyNear() {
		// The engine sweeps everyone in reach for the count anyway (see
		// Engine.search): walking 16 rings of cells first, to pass over
		// every block, cost such a request 1.5-2 µs of its 17-20.
		s.done, s.gaveUp = true, true
		return
	}

	// Rings are found in batches (0-1, 2-3, 4-6, 7-10, 11-16) whose
	// cells are touched together, then scanned ring by ring, stopping
	// after any ring beyond which nothing can be within the bound; the
	// rest of the batch is then dropped unscanned.
	walked := int64(-1)
	for r := int64(0); ; r++ {
		if r > walked {
			s.head, s.tail = 0, 0
			last := min(r+max(1, r/2), gridCellRings)
			for walked < last && (walked < r || s.tail+8*int(walked+1) <= gridQueueLen) {
				walked++
				s.walkRing(walked)
			}
			s.touch(0)
		}
		s.scanRing(r)
		s.rings = int(r) + 1
		if s.done {
			return
		}
		if r == gridCellRings {
			s.walkBlocks(gridCellRings)
			break
		}
		if lb, more := s.cellRingsBound(r); !more || s.beyond(lb) {
			break
		}
		s.tightenCos()
	}
	s.flushPending()
	// Heap sort: repeatedly move the largest to the end.
	h := s.res[s.start:]
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		gridSiftDown(h[:end], 0)
	}
}

// gridWorse orders the heap: a is worse than b.
func gridWorse(a, b Neighbour) bool {
	return a.Metres > b.Metres || (a.Metres == b.Metres && a.ID > b.ID)
}

func gridSiftDown(h []Neighbour, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && gridWorse(h[r], h[l]) {
			c = r
		}
		if !gridWorse(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func gridSiftUp(h []Neighbour, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !gridWorse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// scan looks at every point of one cell.
func (s *gridSearch) scan(cell []gridEntry) {
	s.cellsScanned++
	s.pointsScanned += len(cell)
	if s.within != nil {
		s.scanWithin(cell)
		return
	}
	if s.budget > 0 && s.rings > 1 && s.pointsScanned > s.budget>>(2-s.stage) && len(s.res)-s.start < s.short {
		// Not before the first two rings (the 3×3 cells around the
		// query's) are read: a dense first cell passes a quarter of the
		// budget as it is reached, with nothing read yet, and nothing
		// found, spread over any area, promises fewer than k. Requests
		// with 21 eligible within 63 m (as in the server's benchmark) gave
		// up there and swept their whole reach, 3,800 eligible, at ~100 µs
		// a request.
		//
		// At a quarter of the budget, what has been found is spread over
		// a small area: it must promise fewer than k, not 2k, to give up
		// (likelyShort), or requests that would find k soon after would
		// sweep their whole reach instead.
		margin := 2.0
		if s.stage == 0 {
			margin = 1
		}
		if s.stage++; s.stage == 3 {
			s.budget = 0 // asked for the last time
		}
		if s.flushPending(); len(s.res)-s.start < s.short && s.likelyShort(margin) {
			s.done, s.gaveUp = true, true
			return
		}
	}
	for i := range cell {
		e := &cell[i]
		plat := float64(e.lat) * gridDegreePerFixed
		plng := float64(e.lng) * gridDegreePerFixed
		// A lower bound first, with cosMin for the cosine: most points a
		// search reads are beyond the k-th, and this is a fraction of the
		// cost of the distance.
		dlat := plat - s.lat
		dlng := plng - s.lng
		xl := dlng * s.cosMin
		lo := dlat*dlat + xl*xl
		if lo > s.degSq {
			continue
		}
		// Two rules the tag settles in a test or two, before the
		// distance: a point lacking a skill every eligible one has
		// (need), and one surely beyond its own limit, exactly its
		// class's bound. Once k are found, every other point had its
		// distance worked out before its tag turned it away: a cell read
		// for the driver in it (rowCells) holds others who do not drive,
		// and far out most drivers do not go so far. A long lift search
		// (904 points read, 706 distances) worked out distances mostly
		// for those.
		if s.need&^(e.tag>>tagSkillShift) != 0 {
			continue
		}
		if s.limits && e.tag&tagReachExact != 0 && lo > tagBeyondDegSq[e.tag>>tagReachShift&7] {
			continue
		}
		// Until k are accepted, a point the tag turns away needs no
		// distance. After that most points are beyond the k-th, which the
		// distance shows before the tag need be read; one within it is
		// still judged by its tag before it is held back, or its record
		// would be read (warmRecords) only for the tag to turn it away.
		tagged := s.tq != nil && len(s.res)-s.start < s.k
		if tagged && s.rejects(e.id, e.tag, lo) {
			continue
		}
		// ApproxMetres(s.lat, s.lng, plat, plng), by the same operations
		// (it is too big for the compiler to inline).
		x := float64(dlng * gridCosDeg((s.lat+plat)*0.5))
		if d := gridMetresPerDeg * math.Sqrt(float64(dlat*dlat)+float64(x*x)); d <= s.bound {
			if s.tq == nil {
				s.offer(e.id, e.tag, d, false)
				continue
			}
			if !tagged {
				// By the tables if the search has them; not worth
				// building them for this.
				if s.tt != nil && s.rejects(e.id, e.tag, lo) || s.tt == nil && s.tq.tagRejects(e.id, e.tag, lo) {
					continue
				}
				tagged = true
			}
			s.pending[s.npend] = gridPending{e.id, e.tag, d, tagged}
			if s.npend++; s.npend == len(s.pending) {
				s.flushPending()
			}
		}
	}
}

// gridTableAfter is how many points a search reads before it judges tags
// by tables (gridSearch.tt).
const gridTableAfter = 128

// rejects is tq.tagRejects, by the tables once the search has them.
func (s *gridSearch) rejects(id, tag uint32, loDegSq float64) bool {
	if s.tt == nil {
		if s.ttTried || s.pointsScanned < gridTableAfter {
			return s.tq.tagRejects(id, tag, loDegSq)
		}
		s.ttTried = true
		if s.ttBuf = s.tq.table(); s.ttBuf.usable {
			s.tt = &s.ttBuf
		} else {
			return s.tq.tagRejects(id, tag, loDegSq)
		}
	}
	if !s.tq.remote && tag&tagReachExact != 0 && loDegSq > tagBeyondDegSq[tag>>tagReachShift&7] {
		return true
	}
	if s.tt.code(tag)&tagSettled != 0 {
		return true
	}
	// awayMissesHours, by the table.
	return tag&(tagAway|tagOtherZone) == tagAway && s.tq.tag.wmOK && s.tt.dayHours[tag>>tagDaysShift&127]&tagSpan(tag) == 0
}

// likelyShort guesses whether the search will end with fewer than short:
// it scales what it has found by the area of its reach over the area it
// has covered (the rings it has finished), and says so if that falls
// short of margin times short.
func (s *gridSearch) likelyShort(margin float64) bool {
	covered := max(0.5, float64(s.rings)-0.5) * s.g.metresPerRow
	if s.rings > gridCellRings {
		covered = float64(s.rings-gridCellRings) * gridBlockSide * s.g.metresPerRow
	}
	ratio := s.maxMetres / covered
	return float64(len(s.res)-s.start)*ratio*ratio < margin*float64(s.short)
}

// offer adds a point within the bound to the best k if it belongs there
// and accept agrees.
func (s *gridSearch) offer(id, tag uint32, d float64, tagged bool) {
	h := s.res[s.start:]
	if len(h) == s.k {
		if d == h[0].Metres && id > h[0].ID {
			return
		}
		if !s.accepts(id, tag, d, tagged) {
			return
		}
		h[0] = Neighbour{ID: id, Metres: d}
		gridSiftDown(h, 0)
		s.setBound(h[0].Metres)
		return
	}
	if !s.accepts(id, tag, d, tagged) {
		return
	}
	s.push(id, d)
}

// push adds an accepted point while there are fewer than k.
func (s *gridSearch) push(id uint32, d float64) {
	s.res = append(s.res, Neighbour{ID: id, Metres: d})
	h := s.res[s.start:]
	gridSiftUp(h, len(h)-1)
	if len(h) == s.k {
		s.setBound(h[0].Metres)
	}
}

// accepts asks the filter about a point within the bound; tagged says its
// tag has been judged already (and left it undecided).
func (s *gridSearch) accepts(id, tag uint32, d float64, tagged bool) bool {
	switch {
	case s.tq != nil:
		return s.tq.eligible(id, tag, d, tagged)
	case s.accept != nil:
		return s.accept(id, d)
	}
	return true
}

func (s *gridSearch) scanWithin(cell []gridEntry) {
	for i := range cell {
		e := &cell[i]
		plat := float64(e.lat) * gridDegreePerFixed
		if math.Abs(plat-s.lat) > s.dlatMax {
			continue
		}
		plng := float64(e.lng) * gridDegreePerFixed
		if math.Abs(plng-s.lng) > s.dlngMax {
			continue
		}
		if d := ApproxMetres(s.lat, s.lng, plat, plng); d <= s.maxMetres {
			if !s.within(e.id, d) {
				s.done = true
				return
			}
		}
	}
}

// walkRow queues the cells of row cy within r <= 16 columns of the
// query's.
func (s *gridSearch) walkRow(cy, r int64) {
	if cy < s.rowLo || cy > s.rowHi {
		return
	}
	dy := s.rowGap(cy) * s.g.metresPerRow
	dysq := dy * dy
	if dysq > s.boundSq {
		return
	}
	i := int(cy>>gridBlockShift - s.qb + 1)
	bv := s.nbView(i)
	lo, hi := max(bv.qx-r, bv.colLo), min(bv.qx+r, bv.colHi)
	if !bv.has || lo > hi {
		return
	}
	row := cy & gridBlockMask
	qbx := bv.qx >> gridBlockShift
	for bx := lo >> gridBlockShift; bx <= hi>>gridBlockShift; bx++ {
		blk := s.nb(i, int(bx-qbx+1))
		if blk == nil {
			continue
		}
		cells := s.rowCells(blk, row)
		base := bx << gridBlockShift
		if lo > base {
			cells &^= 1<<(lo-base) - 1
		}
		if hi < base+gridBlockMask {
			cells &= 1<<(hi-base+1) - 1
		}
		for cells != 0 {
			c := int64(bits.TrailingZeros32(cells))
			cells &= cells - 1
			dx := colGap(base+c, bv.vq) * bv.kx
			if lbSq := dysq + dx*dx; lbSq <= s.boundSq {
				s.enqueue(blk, uint32(row<<gridBlockShift|c), lbSq)
			}
		}
	}
}

// walkSides queues the cells r <= 16 columns left and right of the
// query's in the rows strictly between the ring's top and bottom.
func (s *gridSearch) walkSides(r int64) {
	lo, hi := max(s.qy-r+1, s.rowLo), min(s.qy+r-1, s.rowHi)
	for cy := lo; cy <= hi; {
		by := cy >> gridBlockShift
		end := min(hi, by<<gridBlockShift|gridBlockMask)
		i := int(by - s.qb + 1)
		if bv := s.nbView(i); bv.has {
			qbx := bv.qx >> gridBlockShift
			for _, cx := range [2]int64{bv.qx - r, bv.qx + r} {
				if cx < bv.colLo || cx > bv.colHi {
					continue
				}
				blk := s.nb(i, int(cx>>gridBlockShift-qbx+1))
				c := cx & gridBlockMask
				if blk == nil || blk.cols&(1<<c) == 0 {
					continue
				}
				dx := colGap(cx, bv.vq) * bv.kx
				dxsq := dx * dx
				if dxsq > s.boundSq {
					continue
				}
				for y := cy; y <= end; y++ {
					row := y & gridBlockMask
					if s.rowCells(blk, row)&(1<<c) == 0 {
						continue
					}
					dy := s.rowGap(y) * s.g.metresPerRow
					if lbSq := dy*dy + dxsq; lbSq <= s.boundSq {
						s.enqueue(blk, uint32(row<<gridBlockShift|c), lbSq)
					}
				}
			}
		}
		cy = end + 1
	}
}

// nobodyNear reports whether the search will find nobody: no block of
// the 3×3 around the query's can hold anyone eligible (query.hopeless, at
// night most often every block), and nothing beyond its first 16 rings of
// cells, which lie in those blocks, is within the bound. The query's own
// block is asked first: where it is not hopeless (most searches) that is
// the block the first ring looks up anyway, and nothing else is read.
func (s *gridSearch) nobodyNear() bool {
	if s.nb(1, 1) != nil {
		return false
	}
	for i := range 3 {
		for j := range 3 {
			if s.nb(i, j) != nil {
				return false
			}
		}
	}
	lb, more := s.cellRingsBound(gridCellRings)
	return !more || s.beyond(lb)
}

// cellRingsBound is the least distance from the query to any cell outside
// the square of rings 0..r (r <= 16, whose bands are the 3×3's), and
// whether any such cell can hold a point.
func (s *gridSearch) cellRingsBound(r int64) (lb float64, more bool) {
	lb = math.Inf(1)
	mpr := s.g.metresPerRow
	if y := s.qy + r + 1; y <= s.rowHi {
		more = true
		lb = min(lb, (float64(y)-s.uq)*mpr)
	}
	if y := s.qy - r - 1; y >= s.rowLo {
		more = true
		lb = min(lb, (s.uq-float64(y+1))*mpr)
	}
	lo, hi := max(s.qy-r, s.rowLo), min(s.qy+r, s.rowHi)
	for b := lo >> gridBlockShift; lo <= hi && b <= hi>>gridBlockShift; b++ {
		bv := s.nbView(int(b - s.qb + 1))
		if !bv.has {
			continue
		}
		if x := bv.qx - r - 1; x >= bv.colLo {
			more = true
			lb = min(lb, (bv.vq-float64(x+1))*bv.kx)
		}
		if x := bv.qx + r + 1; x <= bv.colHi {
			more = true
			lb = min(lb, (float64(x)-bv.vq)*bv.kx)
		}
	}
	return lb, more
}

// walkBlocks continues a search whose first rings of cells (those within
// done rows and columns of the query's cell) have been visited: it visits
// rings of whole blocks outward, skipping those cells, and stops like the
// cell rings do. Once the rings would have cost more block visits than
// there are blocks, it visits every remaining block instead and is done,
// so a search of an almost empty map costs at most about twice its blocks.
func (s *gridSearch) walkBlocks(done int64) {
	s.head, s.tail = 0, 0 // the cell rings' cells are all scanned
	qb := s.qy >> gridBlockShift
	bandLo, bandHi := s.rowLo>>gridBlockShift, s.rowHi>>gridBlockShift
	live := int64(len(s.g.blockOf))
	spent := int64(0)
	for rb := int64(0); ; rb++ {
		if spent += max(1, 8*rb); spent > live {
			s.visitBlocksBeyond(rb-1, done)
			return
		}
		for by := max(qb-rb, bandLo); by <= min(qb+rb, bandHi); by++ {
			bv := s.band(by)
			if !bv.has {
				continue
			}
			qbx := bv.qx >> gridBlockShift
			if by == qb-rb || by == qb+rb {
				lo := max(qbx-rb, bv.colLo>>gridBlockShift)
				hi := min(qbx+rb, bv.colHi>>gridBlockShift)
				for bx := lo; bx <= hi; bx++ {
					s.visitBlock(by, bx, done)
				}
			} else {
				s.visitBlock(by, qbx-rb, done)
				s.visitBlock(by, qbx+rb, done)
			}
			if s.done {
				return
			}
		}
		if s.drain(); s.done {
			return
		}
		// Stop when nothing outside the square of block rings 0..rb can be
		// within the bound.
		s.rings = gridCellRings + int(rb) + 1
		s.tightenCos()
		lb := math.Inf(1)
		more := false
		mpr := s.g.metresPerRow
		if y := (qb + rb + 1) << gridBlockShift; y <= s.rowHi {
			more = true
			lb = min(lb, (float64(y)-s.uq)*mpr)
		}
		if y := (qb - rb) << gridBlockShift; y-1 >= s.rowLo {
			more = true
			lb = min(lb, (s.uq-float64(y))*mpr)
		}
		for by := max(qb-rb, bandLo); by <= min(qb+rb, bandHi); by++ {
			bv := s.band(by)
			if !bv.has {
				continue
			}
			qbx := bv.qx >> gridBlockShift
			if x := (qbx - rb) << gridBlockShift; x-1 >= bv.colLo {
				more = true
				lb = min(lb, (bv.vq-float64(x))*bv.kx)
			}
			if x := (qbx + rb + 1) << gridBlockShift; x <= bv.colHi {
				more = true
				lb = min(lb, (float64(x)-bv.vq)*bv.kx)
			}
		}
		if !more || s.beyond(lb) {
			return
		}
	}
}

// visitBlocksBeyond visits every block outside the square of block rings
// 0..rb around the query (rb < 0: every block).
func (s *gridSearch) visitBlocksBeyond(rb, done int64) {
	qb := s.qy >> gridBlockShift
	// The slice, not the map, so that the order is deterministic. A group
	// of blocks whose union is hopeless (Grid.groups) is passed over with
	// one test: what the union claims, each of its blocks' aggregates
	// claims no more, so each would be found hopeless.
	blocks := s.g.blocks
	for bi := 1; bi < len(blocks); bi++ {
		if s.tq != nil && (bi == 1 || bi&(1<<gridGroupShift-1) == 0) && s.tq.hopeless(&s.g.groups[bi>>gridGroupShift]) {
			bi |= 1<<gridGroupShift - 1 // the group's last; the next group follows
			continue
		}
		if s.tq != nil && s.tq.hopeless(&s.g.aggs[bi]) {
			// As visitBlock would find, but before its band's view is
			// worked out, and from aggs, side by side, without the
			// block's own line: blocks come in no order of band here,
			// and a remote call at night, when nobody anywhere is free,
			// passes over every block of the country.
			continue
		}
		blk := blocks[bi]
		if blk.n == 0 {
			continue // free
		}
		by, bx := int64(blk.by), int64(blk.bx)
		if rb >= 0 && by >= qb-rb && by <= qb+rb {
			if bv := s.band(by); bv.has {
				if qbx := bv.qx >> gridBlockShift; bx >= qbx-rb && bx <= qbx+rb {
					continue // visited already
				}
			}
		}
		s.visitBlock(by, bx, done)
		if s.done {
			return
		}
	}
	s.drain()
}

// visitBlock visits the cells of block (by, bx) that may be within the
// bound, except those within done rows and columns of the query's cell.
func (s *gridSearch) visitBlock(by, bx, done int64) {
	bv := s.band(by)
	if !bv.has {
		return
	}
	x0 := bx << gridBlockShift
	if x0 > bv.colHi || x0+gridBlockMask < bv.colLo {
		return
	}
	y0 := by << gridBlockShift
	// The whole block's lower bound first.
	dy := max(0, float64(y0)-s.uq, s.uq-float64(y0+gridBlockSide)) * s.g.metresPerRow
	dx := max(0, float64(x0)-bv.vq, bv.vq-float64(x0+gridBlockSide)) * bv.kx
	if dy*dy+dx*dx > s.boundSq {
		return
	}
	blk := s.g.blockOf[gridKey(by, bx)]
	if blk == nil {
		return
	}
	if s.tq != nil && s.tq.hopeless(&blk.agg) {
		return
	}
	s.scanBlock(blk, done)
}

// scanBlock queues the cells of blk that may be within the bound, except
// those within done rows and columns of the query's cell, for the caller
// to scan (drain) once it has queued a ring of blocks: scanned one by one,
// each cell cost a cache miss for its header and then one for its
// entries, in turn, where the queue touches a batch of cells together
// (touch). A lift's search, reading only the cells with a driver (a point
// or two each) over 8 km, spent most of its time so. Within drains each
// block's cells before the next block's, so that it calls its function
// in the order it always did.
func (s *gridSearch) scanBlock(blk *gridBlock, done int64) {
	bv := s.band(int64(blk.by))
	x0 := int64(blk.bx) << gridBlockShift
	y0 := int64(blk.by) << gridBlockShift
	for row := int64(0); row < gridBlockSide; row++ {
		cells := s.rowCells(blk, row)
		if cells == 0 {
			continue
		}
		cy := y0 + row
		dy := s.rowGap(cy) * s.g.metresPerRow
		dysq := dy * dy
		if dysq > s.boundSq {
			continue
		}
		skipRow := done >= 0 && cy >= s.qy-done && cy <= s.qy+done
		for cells != 0 {
			c := int64(bits.TrailingZeros32(cells))
			cells &= cells - 1
			cx := x0 + c
			if skipRow && cx >= bv.qx-done && cx <= bv.qx+done {
				continue
			}
			dx := colGap(cx, bv.vq) * bv.kx
			if dysq+dx*dx > s.boundSq {
				continue
			}
			if s.enqueue(blk, uint32(row<<gridBlockShift|c), dysq+dx*dx); s.done {
				return // a full queue was scanned
			}
		}
	}
	if s.within != nil {
		s.drain()
	}
}

// Within calls fn for every point within maxMetres of (lat,lng), in no particular order (used to count
// why volunteers in reach were excluded). Stops early if fn returns false.
//
// Distances are ApproxMetres, as for Nearest; fn must not modify the grid.
// maxMetres may be +Inf (every point).
func (g *Grid) Within(lat, lng float64, maxMetres float64, fn func(id uint32, metres float64) bool) {
	var s gridSearch
	s.within = fn
	s.visitWithin(g, lat, lng, maxMetres)
}

func (s *gridSearch) visitWithin(g *Grid, lat, lng float64, maxMetres float64) {
	if g.n == 0 || !(maxMetres >= 0) || !geo.ValidLatLng(lat, lng) {
		return
	}
	s.init(g, lat, lng, maxMetres)
	if g.blocksUnderBox(lat, lng, s.dlatMax, s.dlngMax, func(by, bx int64) bool {
		s.visitBlock(by, bx, -1)
		return !s.done
	}) {
		s.visitBlocksBeyond(-1, -1)
	}
}

// blocksUnderBox calls fn with the coordinates of each block under the box
// of dlatMax and dlngMax degrees around (lat, lng), until fn returns false.
// When those outnumber the grid's blocks it calls fn for none and returns
// true: visiting every block directly is then cheaper than looking up the
// box's, most of them empty.
func (g *Grid) blocksUnderBox(lat, lng, dlatMax, dlngMax float64, fn func(by, bx int64) bool) (everyBlock bool) {
	latLo, latHi := math.Max(lat-dlatMax, -90), math.Min(lat+dlatMax, 90)
	byLo := max(int64(math.Floor(latLo*g.rowsPerDegree))>>gridBlockShift, g.bandLo)
	byHi := min(int64(math.Floor(latHi*g.rowsPerDegree))>>gridBlockShift, g.bandLo+int64(len(g.bands))-1)
	lngLo, lngHi := math.Max(lng-dlngMax, g.minLng), math.Min(lng+dlngMax, g.maxLng)
	if lngLo > lngHi || byLo > byHi {
		return false
	}
	live := float64(len(g.blockOf))
	count := 0.0
	for by := byLo; by <= byHi && count <= live; by++ {
		bd, _ := g.band(by)
		count += math.Floor(lngHi*bd.colsPerDegree)/gridBlockSide - math.Floor(lngLo*bd.colsPerDegree)/gridBlockSide + 2
	}
	if count > live {
		return true
	}
	for by := byLo; by <= byHi; by++ {
		bd, _ := g.band(by)
		bxLo := int64(math.Floor(lngLo*bd.colsPerDegree)) >> gridBlockShift
		bxHi := int64(math.Floor(lngHi*bd.colsPerDegree)) >> gridBlockShift
		for bx := bxLo; bx <= bxHi; bx++ {
			if !fn(by, bx) {
				return false
			}
		}
	}
	return false
}

// eachBlockNear calls fn for every block that may hold a point within
// metres of (lat, lng), as Within visits them: the blocks under the
// circle's bounding box, or every block if there are fewer. fn must not
// modify the grid.
func (g *Grid) eachBlockNear(lat, lng, metres float64, fn func(*gridBlock)) {
	if g.n == 0 || !(metres >= 0) || !geo.ValidLatLng(lat, lng) {
		return
	}
	t := metres*(1+gridSlackRel) + gridSlackAbs
	dlatMax := t / gridMetresPerDeg
	dlngMax := math.Inf(1)
	if cosMin := gridCosBound(lat, metres); cosMin > 0 {
		dlngMax = t / (gridMetresPerDeg * cosMin)
	}
	// The blocks are looked up a batch at a time, and the first lines a
	// sweep reads of each touched together (touchBlocks), before fn is
	// called for any of them: called as each was looked up, every block
	// cost a chain of cache misses (the map, the block's first line and
	// its aggregate's, its tallies, its points) before the next block's
	// began. An evening lift sweeping its 8 km, 70 blocks, waited so on
	// each in turn. fn is called in the same order as before.
	var batch [gridNearBatch]*gridBlock
	n := 0
	flush := func() {
		g.touchBlocks(batch[:n])
		for _, blk := range batch[:n] {
			fn(blk)
		}
		n = 0
	}
	if g.blocksUnderBox(lat, lng, dlatMax, dlngMax, func(by, bx int64) bool {
		if blk := g.blockOf[gridKey(by, bx)]; blk != nil {
			batch[n] = blk
			if n++; n == len(batch) {
				flush()
			}
		}
		return true
	}) {
		for _, blk := range g.blocks[1:] {
			if blk.n > 0 {
				fn(blk)
			}
		}
	}
	flush()
}

// gridNearBatch is how many blocks eachBlockNear looks up before it
// visits them.
const gridNearBatch = 32

// touchBlocks reads, for each block, the lines a sweep reads first (the
// block's first line, with its arena's address; the line of its by, bx
// and aggregate; its tallies by reach class) and its first point, in a
// loop whose loads do not depend on each other, so that their cache
// misses overlap (Go has no prefetch).
func (g *Grid) touchBlocks(blks []*gridBlock) {
	var sink uint32
	for _, blk := range blks {
		sink += uint32(blk.by) + uint32(blk.agg.vet) + uint32(g.hists[blk.index].reach[0])
		if len(blk.arena) > 0 {
			sink += blk.arena[0].id
		}
	}
	runtime.KeepAlive(sink) // the loads are the point
}
