// Package protorand fills protobuf messages with random values, for tests
// that must hold for any message: the codec's agreement with protobuf-go
// (proto/doorstep/v1) and the server's refusal of bad input with a clear
// error (server). It is its own package so that both draw on one filler.
package protorand

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Filler sets fields to random values.
type Filler struct {
	Rng *rand.Rand
	// Depth is how many levels of nested messages are filled.
	Depth int
	// Wild also draws values no well-behaved client sends: enum numbers
	// the API does not define, NaN and infinite doubles, extreme integers,
	// timestamps and durations outside their ranges, and long strings.
	Wild bool
	// Sparse leaves each field unset with probability one half, so that
	// messages also lack what they need.
	Sparse bool
	// Names are strings to draw a third of the time, such as the names of
	// records that exist, so that calls reach past "not found".
	Names []string
}

// Fill sets every field of m (one member of each oneof), or about half of
// them when Sparse.
func (f *Filler) Fill(m protoreflect.Message) {
	f.fill(m, f.Depth)
}

func (f *Filler) fill(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if oo := fd.ContainingOneof(); oo != nil && !oo.IsSynthetic() {
			if oo.Fields().Get(f.Rng.IntN(oo.Fields().Len())) != fd {
				continue
			}
		}
		if f.Sparse && f.Rng.IntN(2) == 0 {
			continue
		}
		isMsg := fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range 1 + f.Rng.IntN(3) {
				if !isMsg {
					l.Append(f.scalar(fd))
				} else if depth > 0 {
					e := l.NewElement()
					f.fill(e.Message(), depth-1)
					l.Append(e)
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range 1 + f.Rng.IntN(3) {
				k := f.scalar(fd.MapKey()).MapKey()
				vd := fd.MapValue()
				if vd.Kind() != protoreflect.MessageKind {
					mp.Set(k, f.scalar(vd))
				} else if depth > 0 {
					v := mp.NewValue()
					f.fill(v.Message(), depth-1)
					mp.Set(k, v)
				}
			}
		case isMsg:
			if depth > 0 {
				f.fill(m.Mutable(fd).Message(), depth-1)
			}
		default:
			m.Set(fd, f.scalar(fd))
		}
	}
}

// words are strings a caller might send; wildWords, ones a careless or
// hostile one might.
var (
	words     = []string{"", "Morag", "Sinéad", "AB10 1AB", "ab101ab", "driver", "Europe/London", "0.3 km, same street", "ŵ", "日本", "+447700900123", "helpRequests/01J00000000000000000000000", "volunteers/x"}
	wildWords = []string{strings.Repeat("x", 5000), "\x00", " ", "helpRequests/", "volunteers/../../etc", "Mars/Olympus", "+", "99999999999999999999", "-1", "NaN", "*", "a,b,c", "%s%n"}
)

func (f *Filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	wild := f.Wild && f.Rng.IntN(3) == 0
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(f.Rng.IntN(2) == 0)
	case protoreflect.EnumKind:
		if wild {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber([]int32{-1, 99, math.MaxInt32}[f.Rng.IntN(3)]))
		}
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(f.Rng.IntN(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if wild {
			return protoreflect.ValueOfInt32([]int32{math.MinInt32, math.MaxInt32, -1, 0}[f.Rng.IntN(4)])
		}
		return protoreflect.ValueOfInt32(f.Rng.Int32N(2000) - 100)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if wild {
			return protoreflect.ValueOfInt64([]int64{math.MinInt64, math.MaxInt64, -1, 1 << 40}[f.Rng.IntN(4)])
		}
		return protoreflect.ValueOfInt64(f.Rng.Int64N(2_000_000_000) + 1_700_000_000) // seconds around now, as in timestamps
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(f.Rng.Uint32())
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(f.Rng.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(f.Rng.Float32()*2000 - 1000)
	case protoreflect.DoubleKind:
		if wild {
			return protoreflect.ValueOfFloat64([]float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e308, -91, 181}[f.Rng.IntN(7)])
		}
		if f.Rng.IntN(2) == 0 {
			return protoreflect.ValueOfFloat64(57 + f.Rng.Float64()*0.3) // near Aberdeen, as latitudes go
		}
		return protoreflect.ValueOfFloat64(f.Rng.NormFloat64() * 1e4)
	case protoreflect.StringKind:
		if len(f.Names) > 0 && f.Rng.IntN(3) == 0 {
			return protoreflect.ValueOfString(f.Names[f.Rng.IntN(len(f.Names))])
		}
		if wild {
			return protoreflect.ValueOfString(wildWords[f.Rng.IntN(len(wildWords))])
		}
		return protoreflect.ValueOfString(words[f.Rng.IntN(len(words))])
	case protoreflect.BytesKind:
		b := make([]byte, f.Rng.IntN(40))
		for i := range b {
			b[i] = byte(f.Rng.Uint32())
		}
		return protoreflect.ValueOfBytes(b)
	}
	panic(fmt.Sprintf("protorand: no random value for %v", fd.Kind()))
}

// Mutate changes n fields of m, each chosen at random at any depth: set
// to a random value, cleared, or, for a message, filled afresh. From a
// valid message it makes one that is wrong in a few places only, which
// reaches further into a server than one wrong everywhere.
func (f *Filler) Mutate(m protoreflect.Message, n int) {
	for range n {
		f.mutate(m, f.Depth)
	}
}

func (f *Filler) mutate(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	if fields.Len() == 0 {
		return
	}
	fd := fields.Get(f.Rng.IntN(fields.Len()))
	isMsg := fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
	switch {
	case f.Rng.IntN(5) == 0:
		m.Clear(fd)
	case isMsg && !fd.IsList() && !fd.IsMap() && depth > 0 && m.Has(fd) && f.Rng.IntN(3) != 0:
		f.mutate(m.Mutable(fd).Message(), depth-1) // deeper, keeping the rest of it
	case fd.IsList() && isMsg && m.Has(fd) && f.Rng.IntN(2) == 0:
		l := m.Mutable(fd).List()
		f.mutate(l.Get(f.Rng.IntN(l.Len())).Message(), depth-1)
	default:
		m.Clear(fd)
		one := &Filler{Rng: f.Rng, Depth: max(depth-1, 0), Wild: f.Wild, Names: f.Names}
		tmp := m.New()
		one.fill(tmp, depth)
		if tmp.Has(fd) {
			m.Set(fd, tmp.Get(fd))
		}
	}
}
