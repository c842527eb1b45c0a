package matcher

// Patches: blocks in squares of 4×4, for a remote request's count.
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
// those it crosses point by point. The patches are exact, as the blocks'
// kinds are: every point of a patch's blocks is in its tallies once.

import "math"

// gridPatchShift: a patch is 1<<gridPatchShift bands of blocks by as many
// columns of blocks (each band's own columns: those of neighbouring bands
// do not line up, so a patch's edges east and west step a little from
// band to band). 4×4 (6.4 km) leaves fewer blocks of the patches the
// circle's edge crosses to read than 8×8 does, for more patches to count:
// a night call's count took 52-64 cpu-µs at 200k volunteers with 4×4,
// 60-71 with 8×8.
const gridPatchShift = 2

// gridPatch is one patch: py and px are its blocks' by and bx, shifted
// right by gridPatchShift.
type gridPatch struct {
	py, px  int32
	members []uint32 // the indexes of its blocks, in no order
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
		g.patches = append(g.patches, gridPatch{py: int32(by >> gridPatchShift), px: int32(bx >> gridPatchShift)})
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
	g.patches[g.blockPatch[bi]].add(e.tag, gridAwayUnknown)
}

// histRemove takes e out of block bi's kinds of tag and its patch's.
func (g *Grid) histRemove(bi uint32, e gridEntry) {
	away := g.hists[bi].remove(e)
	g.patches[g.blockPatch[bi]].remove(e.tag, away)
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

// eachPatchNear calls fn for every patch that may hold a point within
// metres of (lat, lng): those under the circle's bounding box, or every
// patch if there are fewer.
func (g *Grid) eachPatchNear(lat, lng, metres float64, fn func(*gridPatch)) {
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
	pyLo, pyHi := byLo>>gridPatchShift, byHi>>gridPatchShift
	type span struct{ lo, hi int64 }
	var rows []span
	var buf [16]span
	rows = buf[:0]
	count := 0
	for py := pyLo; py <= pyHi && count <= len(g.patches); py++ {
		s := span{math.MaxInt64, math.MinInt64}
		for by := max(py<<gridPatchShift, byLo); by <= min(py<<gridPatchShift+1<<gridPatchShift-1, byHi); by++ {
			bd, _ := g.band(by)
			s.lo = min(s.lo, int64(math.Floor(lngLo*bd.colsPerDegree))>>gridBlockShift>>gridPatchShift)
			s.hi = max(s.hi, int64(math.Floor(lngHi*bd.colsPerDegree))>>gridBlockShift>>gridPatchShift)
		}
		rows = append(rows, s)
		count += int(s.hi - s.lo + 1)
	}
	if count > len(g.patches) {
		for i := 1; i < len(g.patches); i++ {
			if len(g.patches[i].members) > 0 {
				fn(&g.patches[i])
			}
		}
		return
	}
	for i, s := range rows {
		py := pyLo + int64(i)
		for px := s.lo; px <= s.hi; px++ {
			if pi, ok := g.patchOf[gridKey(py, px)]; ok && len(g.patches[pi].members) > 0 {
				fn(&g.patches[pi])
			}
		}
	}
}
