package doorstepv1

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// A page of candidates, the reply a client decodes most often, is some
// 4 KB in 20 candidates, and the generated decoder gives it 109
// allocations, a Candidate, a ScoreParts and three strings apiece: more
// than half of all a FindCandidates call allocates in the client, gRPC's
// own included. unmarshalCandidatesPage decodes it with five: the whole
// reply as one string, of which every string field is a piece (a Go
// string cannot change, so a piece is as safe as a string of its own,
// whatever becomes of gRPC's pooled buffer), an array of candidates with
// their parts, and one of exclusions, with one of pointers to each.
// Holding any one candidate, or one of its strings, keeps the page's few
// kilobytes from the collector, as a screen showing the page does anyway.
//
// It reads only what a Doorstep server sends: the fields it knows, each
// with its own wire type. Anything else (an unknown field, a field with
// another wire type, bytes that are not protobuf) it leaves to the
// generated decoder, which reads every case as protobuf-go does
// (FuzzClientCodecAgreesWithProtobufGo, which also holds this decoder to
// protobuf-go).

// unmarshalCandidatesPage decodes b into m, which it resets first, and
// says whether it could; if not, m is in no particular state.
func unmarshalCandidatesPage(b []byte, m *FindCandidatesResponse) bool {
	proto.Reset(m)
	nc, nx, ok := countPage(b)
	if !ok {
		return false
	}
	d := pageDecoder{b: b, s: string(b)}
	var cands []candidateSlot
	var excls []Exclusion
	if nc > 0 {
		cands, m.Candidates = make([]candidateSlot, nc), make([]*Candidate, 0, nc)
	}
	if nx > 0 {
		excls, m.Exclusions = make([]Exclusion, nx), make([]*Exclusion, 0, nx)
	}
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeTag(b[i:])
		if n < 0 {
			return false
		}
		i += n
		switch num {
		case 1:
			lo, hi, ok := d.bytes(i, typ)
			if !ok {
				return false
			}
			c := &cands[len(m.Candidates)]
			if !d.candidate(lo, hi, c) {
				return false
			}
			m.Candidates, i = append(m.Candidates, &c.c), hi
		case 2:
			lo, hi, ok := d.bytes(i, typ)
			if !ok {
				return false
			}
			x := &excls[len(m.Exclusions)]
			if !d.exclusion(lo, hi, x) {
				return false
			}
			m.Exclusions, i = append(m.Exclusions, x), hi
		case 3:
			if i, ok = d.str(i, typ, &m.Summary); !ok {
				return false
			}
		case 4:
			if i, ok = d.double(i, typ, &m.ReachMetres); !ok {
				return false
			}
		case 5:
			if i, ok = d.str(i, typ, &m.VolunteerComing); !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// candidateSlot is a candidate and the parts of its score, allocated
// together.
type candidateSlot struct {
	c Candidate
	p ScoreParts
}

// countPage counts a page's candidates and exclusions, and says whether
// its top level is well formed.
func countPage(b []byte) (candidates, exclusions int, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, false
		}
		switch num {
		case 1:
			candidates++
		case 2:
			exclusions++
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return 0, 0, false
		}
		b = b[n+m:]
	}
	return candidates, exclusions, true
}

// pageDecoder reads fields of a page from b, its bytes, taking strings
// from s, the same bytes as one string.
type pageDecoder struct {
	b []byte
	s string
}

// bytes reads the length of a length-delimited field whose value starts
// at i, and gives where its contents lie.
func (d pageDecoder) bytes(i int, typ protowire.Type) (lo, hi int, ok bool) {
	if typ != protowire.BytesType {
		return 0, 0, false
	}
	v, n := protowire.ConsumeBytes(d.b[i:])
	if n < 0 {
		return 0, 0, false
	}
	return i + n - len(v), i + n, true
}

// str reads a string field whose value starts at i into *out, and gives
// where the next field starts.
func (d pageDecoder) str(i int, typ protowire.Type, out *string) (int, bool) {
	lo, hi, ok := d.bytes(i, typ)
	if ok {
		*out = d.s[lo:hi]
	}
	return hi, ok
}

// double reads a double field whose value starts at i into *out.
func (d pageDecoder) double(i int, typ protowire.Type, out *float64) (int, bool) {
	if typ != protowire.Fixed64Type {
		return 0, false
	}
	v, n := protowire.ConsumeFixed64(d.b[i:])
	if n < 0 {
		return 0, false
	}
	*out = math.Float64frombits(v)
	return i + n, true
}

// varint reads a varint field whose value starts at i.
func (d pageDecoder) varint(i int, typ protowire.Type) (v uint64, next int, ok bool) {
	if typ != protowire.VarintType {
		return 0, 0, false
	}
	v, n := protowire.ConsumeVarint(d.b[i:])
	if n < 0 {
		return 0, 0, false
	}
	return v, i + n, true
}

// candidate reads the candidate in d.b[lo:hi] into s.c, its parts into
// s.p.
func (d pageDecoder) candidate(lo, hi int, s *candidateSlot) bool {
	c := &s.c
	for i := lo; i < hi; {
		num, typ, n := protowire.ConsumeTag(d.b[i:hi])
		if n < 0 {
			return false
		}
		i += n
		var ok bool
		var v uint64
		switch num {
		case 1:
			i, ok = d.str(i, typ, &c.Volunteer)
		case 2:
			i, ok = d.str(i, typ, &c.DisplayName)
		case 3:
			i, ok = d.double(i, typ, &c.DistanceMetres)
		case 4:
			v, i, ok = d.varint(i, typ)
			c.SameStreet = v != 0
		case 5:
			v, i, ok = d.varint(i, typ)
			c.SamePostcode = v != 0
		case 6:
			i, ok = d.double(i, typ, &c.Score)
		case 8:
			i, ok = d.str(i, typ, &c.Explanation)
		case 9:
			var plo int
			if plo, i, ok = d.bytes(i, typ); ok {
				// A second copy of the field merges into the first, as
				// protobuf has it.
				c.ScoreParts = &s.p
				ok = d.parts(plo, i, &s.p)
			}
		}
		if !ok || i > hi {
			return false
		}
	}
	return true
}

// parts reads the parts of a score in d.b[lo:hi] into p.
func (d pageDecoder) parts(lo, hi int, p *ScoreParts) bool {
	for i := lo; i < hi; {
		num, typ, n := protowire.ConsumeTag(d.b[i:hi])
		if n < 0 {
			return false
		}
		i += n
		var out *float64
		switch num {
		case 1:
			out = &p.Distance
		case 2:
			out = &p.SameStreet
		case 3:
			out = &p.SamePostcode
		case 4:
			out = &p.Fairness
		case 5:
			out = &p.Continuity
		default:
			return false
		}
		var ok bool
		if i, ok = d.double(i, typ, out); !ok || i > hi {
			return false
		}
	}
	return true
}

// exclusion reads the exclusion in d.b[lo:hi] into x.
func (d pageDecoder) exclusion(lo, hi int, x *Exclusion) bool {
	for i := lo; i < hi; {
		num, typ, n := protowire.ConsumeTag(d.b[i:hi])
		if n < 0 {
			return false
		}
		i += n
		var ok bool
		var v uint64
		switch num {
		case 1:
			i, ok = d.str(i, typ, &x.Reason)
		case 2:
			i, ok = d.str(i, typ, &x.Detail)
		case 3:
			v, i, ok = d.varint(i, typ)
			x.Count = int32(v)
		}
		if !ok || i > hi {
			return false
		}
	}
	return true
}
