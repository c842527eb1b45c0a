package matcher

import (
	"hash/maphash"
	"math/bits"
)

// strIndex finds a number by the string it stands for: an open-addressing
// table of the numbers alone (4 bytes a slot, at most half full), reading
// each number's string from src through keyOf. A Go map from string to
// number costs several times as much per entry, and the engine keeps one
// entry per volunteer and one per postcode unit. A slot's bits above the
// number hold part of the string's hash, so that a probe reads the string
// (a cache miss) almost only when it is the one sought.
type strIndex[S any] struct {
	seed   maphash.Seed
	slots  []uint32 // fingerprint | number+1; 0 is empty
	n      int
	idBits uint // the low idBits of a slot hold number+1
}

func (x *strIndex[S]) idMask() uint32 { return uint32(uint64(1)<<x.idBits - 1) }

func (x *strIndex[S]) hash(s string) uint64 { return maphash.String(x.seed, s) }

// split gives a hash's home slot and fingerprint.
func (x *strIndex[S]) split(h uint64) (home, fp uint32) {
	return uint32(h) & uint32(len(x.slots)-1), uint32(h>>32) &^ x.idMask()
}

func (x *strIndex[S]) find(src S, keyOf func(S, uint32) string, s string) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	idm, mask := x.idMask(), uint32(len(x.slots)-1)
	i, fp := x.split(x.hash(s))
	for ; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return 0, false
		}
		if v&^idm == fp && keyOf(src, v&idm-1) == s {
			return v&idm - 1, true
		}
	}
}

// reserve makes room for n entries numbered below limit without growing.
func (x *strIndex[S]) reserve(src S, keyOf func(S, uint32) string, n int, limit uint32) {
	size := 16
	for size < 2*n {
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
	if 2*(x.n+1) > len(x.slots) || uint64(id)+1 > uint64(x.idMask()) {
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
type nameIndex struct{ strIndex[[]volunteer] }

func volName(vols []volunteer, id uint32) string { return vols[id].name }

func (x *nameIndex) find(vols []volunteer, name string) (uint32, bool) {
	return x.strIndex.find(vols, volName, name)
}
func (x *nameIndex) reserve(vols []volunteer, n int) {
	x.strIndex.reserve(vols, volName, n, uint32(max(n, len(vols))))
}
func (x *nameIndex) insert(vols []volunteer, id uint32) { x.strIndex.insert(vols, volName, id) }
func (x *nameIndex) remove(vols []volunteer, id uint32) { x.strIndex.remove(vols, volName, id) }
func (x *nameIndex) len() int                           { return x.n }

// interned numbers strings densely, 0 being "", and heads, per number, a
// list of the volunteers who have it, linked through their records
// (volunteer.links).
type interned struct {
	index strIndex[[]string]
	names []string
	head  []uint32 // first volunteer id+1; 0: none
}

func nameOf(names []string, i uint32) string { return names[i] }

func newInterned() interned {
	in := interned{names: []string{""}, head: []uint32{0}}
	in.index.insert(in.names, nameOf, 0)
	return in
}

func (in *interned) intern(s string) uint32 {
	if i, ok := in.index.find(in.names, nameOf, s); ok {
		return i
	}
	i := uint32(len(in.names))
	in.names = append(in.names, s)
	in.head = append(in.head, 0)
	in.index.insert(in.names, nameOf, i)
	return i
}

// lookup is s's number, or none if it was never interned.
func (in *interned) lookup(s string, none uint32) uint32 {
	if i, ok := in.index.find(in.names, nameOf, s); ok {
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
	for i := 1; i < len(in.names); i++ {
		head := in.head[i]
		if head == 0 {
			continue
		}
		to := uint32(len(out.names))
		out.names = append(out.names, in.names[i])
		out.head = append(out.head, head)
		out.index.insert(out.names, nameOf, to)
		for n := head; n != 0; n = vols[n-1].links[l+1] {
			set(&vols[n-1], to)
		}
	}
	return out
}
