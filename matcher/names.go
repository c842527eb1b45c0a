package matcher

import (
	"hash/maphash"
	"math/bits"
)

// strIndex finds a number by the string it stands for: an open-addressing
// table of the numbers alone (4 bytes a slot), reading each number's
// string from src through keyOf. A Go map from string to number costs
// several times as much per entry, and the engine keeps one entry per
// volunteer and one per postcode unit. A slot's bits above the number hold
// part of the string's hash, so that a probe reads the string (a cache
// miss) almost only when it is the one sought. The table is at most three
// quarters full: a probe reads slots side by side, sixteen to a cache
// line, so the longer runs cost little, where half full cost the
// postcodes of a million volunteers 4 MB more.
type strIndex[S any] struct {
	seed   maphash.Seed
	slots  []uint32 // fingerprint | number+1; 0 is empty
	n      int
	idBits uint // the low idBits of a slot hold number+1
}

func (x *strIndex[S]) idMask() uint32 { return uint32(uint64(1)<<x.idBits - 1) }

// hash is s's hash under this table's seed; 0 for a table that has never
// held a string, whose seed is not yet made (finds there read nothing).
func (x *strIndex[S]) hash(s string) uint64 {
	if x.slots == nil {
		return 0
	}
	return maphash.String(x.seed, s)
}

// split gives a hash's home slot and fingerprint.
func (x *strIndex[S]) split(h uint64) (home, fp uint32) {
	return uint32(h) & uint32(len(x.slots)-1), uint32(h>>32) &^ x.idMask()
}

func (x *strIndex[S]) find(src S, keyOf func(S, uint32) string, s string) (uint32, bool) {
	return x.findHashed(src, keyOf, s, x.hash(s))
}

// findHashed is find of s, whose hash is h. With keyOf nil it reads no
// string, and ends at the first number whose fingerprint matches (guess).
func (x *strIndex[S]) findHashed(src S, keyOf func(S, uint32) string, s string, h uint64) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	idm, mask := x.idMask(), uint32(len(x.slots)-1)
	i, fp := x.split(h)
	for ; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return 0, false
		}
		if v&^idm == fp && (keyOf == nil || keyOf(src, v&idm-1) == s) {
			return v&idm - 1, true
		}
	}
}

// guess is the number a find of a string hashing to h most likely ends
// at, the first whose fingerprint matches, without reading any string:
// for warming what find will read (Engine.warmUpsert).
func (x *strIndex[S]) guess(h uint64) (uint32, bool) {
	var none S
	return x.findHashed(none, nil, "", h)
}

// reserve makes room for n entries numbered below limit without growing.
func (x *strIndex[S]) reserve(src S, keyOf func(S, uint32) string, n int, limit uint32) {
	size := 16
	for 3*size < 4*n {
		size *= 2
	}
	idBits := max(x.idBits, uint(bits.Len32(limit))+1)
	if size <= len(x.slots) && idBits == x.idBits {
		return
	}
	size = max(size, len(x.slots))
	if x.slots == nil {
		x.seed = maphash.MakeSeed()
	}
	old, oldMask := x.slots, x.idMask()
	x.slots, x.idBits = make([]uint32, size), min(idBits, 32)
	for _, v := range old {
		if v != 0 {
			x.place(v&oldMask-1, x.hash(keyOf(src, v&oldMask-1)))
		}
	}
}

func (x *strIndex[S]) place(id uint32, h uint64) {
	mask := uint32(len(x.slots) - 1)
	i, fp := x.split(h)
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = fp | (id + 1)
}

// insert adds number id, whose string keyOf gives; it must be absent.
func (x *strIndex[S]) insert(src S, keyOf func(S, uint32) string, id uint32) {
	if 4*(x.n+1) > 3*len(x.slots) || uint64(id)+1 > uint64(x.idMask()) {
		x.reserve(src, keyOf, max(x.n+1, 2*x.n), max(id+1, uint32(len(x.slots))))
	}
	x.place(id, x.hash(keyOf(src, id)))
	x.n++
}

// remove drops number id, whose string keyOf still gives, closing the gap
// so that no probe sequence is cut short.
func (x *strIndex[S]) remove(src S, keyOf func(S, uint32) string, id uint32) {
	idm, mask := x.idMask(), uint32(len(x.slots)-1)
	i, _ := x.split(x.hash(keyOf(src, id)))
	for x.slots[i]&idm != id+1 {
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		v := x.slots[j]
		if v == 0 {
			break
		}
		// An entry whose home lies cyclically in (i, j] stays put.
		k, _ := x.split(x.hash(keyOf(src, v&idm-1)))
		if (i <= j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		x.slots[i] = v
		i = j
	}
	x.slots[i] = 0
	x.n--
}

// renumber replaces every number m by to[m], which must be below every
// number held so far; the strings are not read again.
func (x *strIndex[S]) renumber(to []uint32) {
	idm := x.idMask()
	for i, v := range x.slots {
		if v != 0 {
			x.slots[i] = v&^idm | (to[v&idm-1] + 1)
		}
	}
}

// nameIndex finds a volunteer's engine id by name.
type nameIndex struct{ strIndex[*Engine] }

func volName(e *Engine, id uint32) string { return e.nameOf(id) }

func (x *nameIndex) find(e *Engine, name string) (uint32, bool) {
	return x.strIndex.find(e, volName, name)
}
func (x *nameIndex) reserve(e *Engine, n int) {
	x.strIndex.reserve(e, volName, n, uint32(max(n, len(e.vols))))
}
func (x *nameIndex) insert(e *Engine, id uint32) { x.strIndex.insert(e, volName, id) }
func (x *nameIndex) remove(e *Engine, id uint32) { x.strIndex.remove(e, volName, id) }
func (x *nameIndex) len() int                    { return x.n }

// interned numbers strings densely, 0 being "", and heads, per number, a
// list of the volunteers who have it, linked through their records
// (volunteer.links). The strings lie in an arena (textArena.put): a
// postcode of 8 to 13 bytes kept as a string of its own cost a 16-byte
// header and its allocation rounded up besides, and a million volunteers
// spread over the country hold most of a million postcodes.
type interned struct {
	index strIndex[*interned]
	text  textArena
	at    []uint32 // string i is text.at(at[i])
	head  []uint32 // first volunteer id+1; 0: none
}

func nameOf(in *interned, i uint32) string { return in.text.at(in.at[i]) }

// len is how many strings are numbered, "" included.
func (in *interned) len() int { return len(in.at) }

func newInterned() interned {
	var in interned
	in.add("")
	return in
}

// add numbers s, which must not be numbered yet.
func (in *interned) add(s string) uint32 {
	i := uint32(len(in.at))
	in.at = append(in.at, in.text.put(s))
	in.head = append(in.head, 0)
	in.index.insert(in, nameOf, i)
	return i
}

// internHashed is s's number, numbering it if it has none; h is s's hash
// under the table as it is now (index.hash), which upsert takes early to
// read ahead (Engine.warmUpsert).
func (in *interned) internHashed(s string, h uint64) uint32 {
	if i, ok := in.index.findHashed(in, nameOf, s, h); ok {
		return i
	}
	return in.add(s)
}

// lookup is s's number, or none if it was never interned.
func (in *interned) lookup(s string, none uint32) uint32 {
	if i, ok := in.index.find(in, nameOf, s); ok {
		return i
	}
	return none
}

// kept returns in without the strings no volunteer has, numbered afresh in
// the same order, and calls set with each volunteer on a kept string's
// list and its new number. The lists are chained through the volunteers
// (volunteer.links[l], [l+1]), so they move whole, in their order. 0, "",
// stays 0.
func (in *interned) kept(vols []volunteer, l int, set func(v *volunteer, to uint32)) interned {
	out := newInterned()
	out.head[0] = in.head[0]
	for i := 1; i < in.len(); i++ {
		head := in.head[i]
		if head == 0 {
			continue
		}
		to := out.add(nameOf(in, uint32(i)))
		out.head[to] = head
		for n := head; n != 0; n = vols[n-1].links[l+1] {
			set(&vols[n-1], to)
		}
	}
	return out
}
