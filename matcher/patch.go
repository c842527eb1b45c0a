package matcher

// Patches and regions: blocks in squares of 2×2 and 8×8, for a remote
// request's count.
//
// A remote request's count of why (count.go) takes everyone within
// remoteCountMetres, and at night the 750-1,000 blocks under that circle
// were each counted by their kinds of tag (gridHist): a dozen kinds, and,
// on a large grid, a cache miss or three, per block. A patch keeps the
// same for its blocks together: the union of their aggregates, their
// kinds of tag merged, and their away points by kind and span of days.
// A patch wholly within the circle, where the window misses every hour
// its aggregate claims, is counted from these alone; only patches the
// circle's edge crosses are read block by block, and of their blocks only
// those it crosses point by point. Regions of 4×4 patches keep the same
// again, and one wholly within the circle is counted as one: a quadtree
// of two levels over the blocks. Patches and regions are exact, as the
// blocks' kinds are: every point of their blocks is in their tallies once.

import "math"

// gridPatchShift: a patch is 1<<gridPatchShift bands of blocks by as many
// columns of blocks (each band's own columns: those of neighbouring bands
// do not line up, so a patch's edges east and west step a little from
// band to band). Patches of 2×2 (3.2 km) in regions of 8×8 (12.8 km)
// leave the fewest blocks to read of the sizes tried, for no more kinds
// to count: a night call's count at 200k volunteers enters 79 blocks and
// counts 1,900 kinds, where 4×4 in 16×16 entered 157 and counted 1,860,
// and 4×4 alone 157 and 2,700 (and 8×8 alone ~200 blocks).
const gridPatchShift = 1

// gridRegionShift: a region is 1<<gridRegionShift bands of blocks by as
// many columns, and holds the patches within it (gridRegionShift is more
// than gridPatchShift): a region wholly within the circle is counted as
// one, and one its edge crosses patch by patch.
const gridRegionShift = 3

// gridPatch is one patch, or one region: py and px are its blocks' by and
// bx, shifted right by gridPatchShift (gridRegionShift).
type gridPatch struct {
	py, px  int32
	members []uint32 // a patch's: the indexes of its blocks, in no order
	kids    []uint32 // a region's: the indexes of its patches, in no order
	parent  uint32   // a patch's: its region's index
	agg     gridAgg  // the union of its blocks' aggregates (syncAgg)
	// plain is as gridHist.plain, over all its blocks; away holds its
	// odd points whose tag has tagAway and no other odd bit and whose
	// away days the grid knows (gridOdd.away), by kind and span; needy
	// counts its other odd points, whose verdict needs their record.
	plain []uint32
	away  []gridAwayKind
	needy int32
}

// gridAwayKind is a number of odd points with one kind of tag
// (gridHistKey, its count in the bits above as in gridHist.plain) and
// one span of away days.
type gridAwayKind struct {
	key  uint32
	away [2]int32
}

// patchKey is the map key of the patch holding block (by, bx).
func patchKey(by, bx int64) uint64 {
	return gridKey(by>>gridPatchShift, bx>>gridPatchShift)
}

// joinPatch puts block blk, just placed at (by, bx), into its patch.
func (g *Grid) joinPatch(blk *gridBlock) {
	by, bx := int64(blk.by), int64(blk.bx)
	key := patchKey(by, bx)
	pi, ok := g.patchOf[key]
	if !ok {
		pi = uint32(len(g.patches))
		rkey := gridKey(by>>gridRegionShift, bx>>gridRegionShift)
		ri, ok := g.regionOf[rkey]
		if !ok {
			ri = uint32(len(g.regions))
			g.regions = append(g.regions, gridPatch{py: int32(by >> gridRegionShift), px: int32(bx >> gridRegionShift)})
			g.regionOf[rkey] = ri
		}
		g.regions[ri].kids = append(g.regions[ri].kids, pi)
		g.patches = append(g.patches, gridPatch{py: int32(by >> gridPatchShift), px: int32(bx >> gridPatchShift), parent: ri})
		g.patchOf[key] = pi
	}
	for int(blk.index) >= len(g.blockPatch) {
		g.blockPatch = append(g.blockPatch, 0)
	}
	g.blockPatch[blk.index] = pi
	p := &g.patches[pi]
	p.members = append(p.members, blk.index)
}

// leavePatch takes block bi, just emptied, out of its patch.
func (g *Grid) leavePatch(bi uint32) {
	p := &g.patches[g.blockPatch[bi]]
	for i, m := range p.members {
		if m == bi {
			last := len(p.members) - 1
			p.members[i] = p.members[last]
			p.members = p.members[:last]
			break
		}
	}
	g.blockPatch[bi] = 0
	p.syncAgg(g.aggs)
	g.regions[p.parent].syncRegionAgg(g.patches)
}

// syncRegionAgg works out region r's aggregate afresh from its patches'.
func (r *gridPatch) syncRegionAgg(patches []gridPatch) {
	var u gridAgg
	for _, k := range r.kids {
		u.merge(&patches[k].agg)
	}
	r.agg = u
}

// syncAgg works out p's aggregate afresh from its blocks' (aggs).
func (p *gridPatch) syncAgg(aggs []gridAgg) {
	var u gridAgg
	for _, m := range p.members {
		u.merge(&aggs[m])
	}
	p.agg = u
}

// histAdd counts e into block bi's kinds of tag and its patch's.
func (g *Grid) histAdd(bi uint32, e gridEntry) {
	g.hists[bi].add(e)
	p := &g.patches[g.blockPatch[bi]]
	p.add(e.tag, gridAwayUnknown)
	g.regions[p.parent].add(e.tag, gridAwayUnknown)
}

// histRemove takes e out of block bi's kinds of tag and its patch's.
func (g *Grid) histRemove(bi uint32, e gridEntry) {
	away := g.hists[bi].remove(e)
	p := &g.patches[g.blockPatch[bi]]
	p.remove(e.tag, away)
	g.regions[p.parent].remove(e.tag, away)
}

// histSwap counts block bi's point old as e (the same point, moved within
// the block or retagged) in its kinds of tag and its patch's. Where
// neither tag is odd and both are of one kind, only the block's reach
// classes can change: the kinds are left alone, a scan of the region's
// (which holds a hundred kinds or more) and of the patch's saved.
func (g *Grid) histSwap(bi uint32, old, e gridEntry) {
	if old.tag&gridHistOdd == 0 && e.tag&gridHistOdd == 0 && gridHistKey(old.tag) == gridHistKey(e.tag) {
		h := &g.hists[bi]
		h.reach[old.tag>>tagReachShift&7]--
		h.reach[e.tag>>tagReachShift&7]++
		return
	}
	g.histRemove(bi, old)
	g.histAdd(bi, e)
}

// add counts in a point with tag and, if it is odd, away (gridOdd.away).
func (p *gridPatch) add(tag uint32, away [2]int32) {
	switch {
	case tag&gridHistOdd == 0:
		p.plain = addKind(p.plain, gridHistKey(tag))
	case tag&gridHistOdd == tagAway && away != gridAwayUnknown:
		k := gridHistKey(tag)
		for i, a := range p.away {
			if a.key&gridHistKeyMask == k && a.away == away && a.key>>gridHistKeyBits < gridHistMaxCount {
				p.away[i].key += 1 << gridHistKeyBits
				return
			}
		}
		p.away = append(p.away, gridAwayKind{k | 1<<gridHistKeyBits, away})
	default:
		p.needy++
	}
}

// remove takes out a point that add counted in with the same tag and
// away.
func (p *gridPatch) remove(tag uint32, away [2]int32) {
	switch {
	case tag&gridHistOdd == 0:
		p.plain = removeKind(p.plain, gridHistKey(tag))
	case tag&gridHistOdd == tagAway && away != gridAwayUnknown:
		k := gridHistKey(tag)
		for i, a := range p.away {
			if a.key&gridHistKeyMask == k && a.away == away {
				if a.key>>gridHistKeyBits == 1 {
					last := len(p.away) - 1
					p.away[i] = p.away[last]
					p.away = p.away[:last]
				} else {
					p.away[i].key -= 1 << gridHistKeyBits
				}
				return
			}
		}
		panic("matcher: Grid: a point missing from its patch's away kinds")
	default:
		p.needy--
	}
}

// addKind counts one more point of kind k into plain (gridHist.plain).
func addKind(plain []uint32, k uint32) []uint32 {
	for i, p := range plain {
		if p&gridHistKeyMask == k && p>>gridHistKeyBits < gridHistMaxCount {
			plain[i] += 1 << gridHistKeyBits
			return plain
		}
	}
	return append(plain, k|1<<gridHistKeyBits)
}

// removeKind takes one point of kind k out of plain.
func removeKind(plain []uint32, k uint32) []uint32 {
	for i, p := range plain {
		if p&gridHistKeyMask == k {
			if p>>gridHistKeyBits == 1 {
				last := len(plain) - 1
				plain[i] = plain[last]
				return plain[:last]
			}
			plain[i] -= 1 << gridHistKeyBits
			return plain
		}
	}
	panic("matcher: Grid: a point missing from its block's tags")
}

// eachRegionNear calls fn for every region that may hold a point within
// metres of (lat, lng): those under the circle's bounding box, or every
// region if there are fewer.
func (g *Grid) eachRegionNear(lat, lng, metres float64, fn func(*gridPatch)) {
	const shift = gridRegionShift
	t := metres*(1+gridSlackRel) + gridSlackAbs
	dlatMax := t / gridMetresPerDeg
	dlngMax := math.Inf(1)
	if cosMin := gridCosBound(lat, metres); cosMin > 0 {
		dlngMax = t / (gridMetresPerDeg * cosMin)
	}
	latLo, latHi := math.Max(lat-dlatMax, -90), math.Min(lat+dlatMax, 90)
	byLo := max(int64(math.Floor(latLo*g.rowsPerDegree))>>gridBlockShift, g.bandLo)
	byHi := min(int64(math.Floor(latHi*g.rowsPerDegree))>>gridBlockShift, g.bandLo+int64(len(g.bands))-1)
	lngLo, lngHi := math.Max(lng-dlngMax, g.minLng), math.Min(lng+dlngMax, g.maxLng)
	if lngLo > lngHi || byLo > byHi {
		return
	}
	// A row of patches spans its bands' columns under the box.
	pyLo, pyHi := byLo>>shift, byHi>>shift
	type span struct{ lo, hi int64 }
	var rows []span
	var buf [16]span
	rows = buf[:0]
	count := 0
	for py := pyLo; py <= pyHi && count <= len(g.regions); py++ {
		s := span{math.MaxInt64, math.MinInt64}
		for by := max(py<<shift, byLo); by <= min(py<<shift+1<<shift-1, byHi); by++ {
			bd, _ := g.band(by)
			s.lo = min(s.lo, int64(math.Floor(lngLo*bd.colsPerDegree))>>gridBlockShift>>shift)
			s.hi = max(s.hi, int64(math.Floor(lngHi*bd.colsPerDegree))>>gridBlockShift>>shift)
		}
		rows = append(rows, s)
		count += int(s.hi - s.lo + 1)
	}
	if count > len(g.regions) {
		for i := 1; i < len(g.regions); i++ {
			if len(g.regions[i].kids) > 0 {
				fn(&g.regions[i])
			}
		}
		return
	}
	for i, s := range rows {
		py := pyLo + int64(i)
		for px := s.lo; px <= s.hi; px++ {
			if pi, ok := g.regionOf[gridKey(py, px)]; ok && len(g.regions[pi].kids) > 0 {
				fn(&g.regions[pi])
			}
		}
	}
}
