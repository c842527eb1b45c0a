package matcher

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// textArena holds volunteers' names and display names (putText, textOf)
// and the engine's interned postcodes and streets (put, at), end to end,
// in chunks of textChunk bytes (a text longer than that has a chunk of its
// own). Bytes once written are never written again: a repack copies to a
// fresh arena. So the strings textOf and at make share the arena's bytes,
// safely, for as long as anyone holds them. Chunks, not one growing array,
// so that the first write after Compact, which leaves no room to spare,
// does not copy the whole arena under the engine's lock into an array a
// quarter larger (a million volunteers' texts are some 50 MB, their
// postcodes 10), and the arena spares at most a chunk.
type textArena struct {
	chunks [][]byte
	size   int // bytes taken, live and stale
	stale  int // bytes of texts no volunteer has any more
}

// A volunteer.text is a chunk's index times textChunk plus the text's
// offset in the chunk: 4 GiB in all, some 80 million volunteers.
const (
	textChunkShift = 20
	textChunk      = 1 << textChunkShift
)

// alloc takes n bytes, which the caller fills, and says where they lie.
func (a *textArena) alloc(n int) (at uint32, b []byte) {
	last := len(a.chunks) - 1
	if last < 0 || cap(a.chunks[last])-len(a.chunks[last]) < n {
		if len(a.chunks) == 1<<(32-textChunkShift) {
			panic("matcher: 4 GiB of volunteers' names and display names")
		}
		a.chunks = append(a.chunks, make([]byte, 0, max(textChunk, n)))
		last++
	}
	c := a.chunks[last]
	at = uint32(last)<<textChunkShift | uint32(len(c))
	a.chunks[last] = c[:len(c)+n]
	a.size += n
	return at, c[len(c) : len(c)+n]
}

// put writes s, its length first (a uvarint), and says where, for at.
func (a *textArena) put(s string) uint32 {
	var n [binary.MaxVarintLen64]byte
	prefix := binary.PutUvarint(n[:], uint64(len(s)))
	at, b := a.alloc(prefix + len(s))
	copy(b[copy(b, n[:prefix]):], s)
	return at
}

// at is the string put at at. Its bytes are the arena's, as textOf's.
func (a *textArena) at(at uint32) string {
	c := a.chunks[at>>textChunkShift]
	off := at & (textChunk - 1)
	n, prefix := binary.Uvarint(c[off:])
	return arenaString(c, off+uint32(prefix), uint32(n))
}

// byteAt is the byte at at, which must have been written.
func (a *textArena) byteAt(at uint32) byte {
	return a.chunks[at>>textChunkShift][at&(textChunk-1)]
}

// longText in volunteer.nameLen says that the name or display name is too
// long for 16 bits, and both lengths lie in the arena, 4 bytes each,
// before them.
const longText = math.MaxUint16

// putText writes v's name and display name to the arena.
func (e *Engine) putText(v *volunteer, name, shown string) {
	long := len(name) >= longText || len(shown) >= longText
	n := len(name) + len(shown)
	if long {
		n += 8
	}
	at, b := e.text.alloc(n)
	v.text = at
	if long {
		v.nameLen, v.shownLen = longText, longText
		binary.LittleEndian.PutUint32(b, uint32(len(name)))
		binary.LittleEndian.PutUint32(b[4:], uint32(len(shown)))
		b = b[8:]
	} else {
		v.nameLen, v.shownLen = uint16(len(name)), uint16(len(shown))
	}
	copy(b[copy(b, name):], shown)
}

// textOf is v's name and display name, sharing the arena's bytes.
func (e *Engine) textOf(v *volunteer) (name, shown string) {
	if v.nameLen == 0 && v.shownLen == 0 {
		return "", ""
	}
	c := e.text.chunks[v.text>>textChunkShift]
	off, nl, sl := v.text&(textChunk-1), uint32(v.nameLen), uint32(v.shownLen)
	if v.nameLen == longText {
		nl, sl = binary.LittleEndian.Uint32(c[off:]), binary.LittleEndian.Uint32(c[off+4:])
		off += 8
	}
	return arenaString(c, off, nl), arenaString(c, off+nl, sl)
}

func arenaString(b []byte, off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&b[off], n)
}

// nameOf is volunteer id's name.
func (e *Engine) nameOf(id uint32) string {
	name, _ := e.textOf(&e.vols[id])
	return name
}

// textBytes is how much of the arena v's text takes.
func (e *Engine) textBytes(v *volunteer) int {
	name, shown := e.textOf(v)
	n := len(name) + len(shown)
	if v.nameLen == longText {
		n += 8
	}
	return n
}

// copyText copies v's text to arena to, and points v at the copy.
func (e *Engine) copyText(to *textArena, v *volunteer) {
	n := e.textBytes(v)
	if n == 0 {
		return // nothing to point at: textOf reads no chunk for it
	}
	from := e.text.chunks[v.text>>textChunkShift][v.text&(textChunk-1):][:n]
	at, b := to.alloc(n)
	copy(b, from)
	v.text = at
}
