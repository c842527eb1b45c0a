package server

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Protobuf strings are UTF-8, but not every client's runtime checks (a
// protobufjs string with a lone surrogate, bytes built by hand). The
// server's codec lets such a string through (pb.ServerCodec), so that it
// is not refused inside gRPC's decoding as INTERNAL with protobuf-go's
// words; these interceptors refuse it, for every request, before a
// handler sees it. A string that is not UTF-8 is the caller's mistake
// like any other bad field: INVALID_ARGUMENT, reason INVALID_FIELDS,
// naming each such field by its path, never quoting its bytes (usually a
// name or an address). Nothing that fails reaches a handler, the store or
// a response, so what the server sends stays UTF-8.
//
// They run after authentication, as the handlers' own checks of their
// requests do: a caller who may not make the call is told so, whatever
// it sent, and a refused call counts against its rate limit like any
// other.
//
// They also drop the fields a request carries that this server does not
// know (a client built from a newer or another API), at any depth: kept,
// they would be stored in the clear beside the sealed personal fields,
// outside every check, would survive erasure, and would come back to
// every reader of the record.

// utf8Unary refuses a request with a string that is not UTF-8, and drops
// its unknown fields.
func (s *Server) utf8Unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		pb.DiscardUnknown(m.ProtoReflect())
		if err := checkUTF8(m); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

// utf8Stream is utf8Unary for every message a stream receives.
func (s *Server) utf8Stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, utf8ServerStream{ss})
}

type utf8ServerStream struct{ grpc.ServerStream }

func (u utf8ServerStream) RecvMsg(m any) error {
	if err := u.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		pb.DiscardUnknown(pm.ProtoReflect())
		return checkUTF8(pm)
	}
	return nil
}

// checkUTF8 is INVALID_ARGUMENT naming every string field of m, at any
// depth, that is not UTF-8; or nil.
func checkUTF8(m proto.Message) error {
	bad := badUTF8(m.ProtoReflect())
	if len(bad) == 0 {
		return nil
	}
	var v violations
	for _, b := range bad {
		v.add(b.path, b.description)
	}
	return v.err()
}

type badString struct{ path, description string }

// badUTF8 lists the strings in m that are not UTF-8, by their paths
// within m. Paths are built only for what is refused, on the way back up,
// so a good request costs no allocation for them. Repeated fields are
// named with their index ("help_requests[3]"), as the handlers name them.
// An entry of a map is named by the map field alone when its key is a
// string (the key may be the bad string, and is the caller's content
// either way), else with the key ("counts[5]").
func badUTF8(m protoreflect.Message) []badString {
	var bad []badString
	for _, fd := range fieldsWithStrings(m.Descriptor()) {
		if !m.Has(fd) {
			continue
		}
		switch val := m.Get(fd); {
		case fd.IsList():
			list := val.List()
			for j, n := 0, list.Len(); j < n; j++ {
				if sub := badValue(fd, list.Get(j)); sub != nil {
					bad = under(bad, string(fd.Name())+"["+strconv.Itoa(j)+"]", sub)
				}
			}
		case fd.IsMap():
			bad = append(bad, badInMap(fd, string(fd.Name()), val.Map())...)
		default:
			if sub := badValue(fd, val); sub != nil {
				bad = under(bad, string(fd.Name()), sub)
			}
		}
	}
	return bad
}

func badInMap(fd protoreflect.FieldDescriptor, name string, m protoreflect.Map) []badString {
	var bad []badString
	m.Range(func(k protoreflect.MapKey, e protoreflect.Value) bool {
		entry := name
		if fd.MapKey().Kind() == protoreflect.StringKind {
			if !utf8.ValidString(k.String()) {
				bad = append(bad, badString{name, "has a key that is not valid UTF-8"})
			}
		} else {
			entry = fmt.Sprintf("%s[%v]", name, k.Interface())
		}
		if sub := badValue(fd.MapValue(), e); sub != nil {
			bad = under(bad, entry, sub)
		}
		return true
	})
	return bad
}

// notUTF8 stands for a string value that is not UTF-8: a path of "" is
// the value itself.
var notUTF8 = []badString{{"", "is not valid UTF-8"}}

// badValue checks one value of field fd: a string, or a message to walk.
func badValue(fd protoreflect.FieldDescriptor, val protoreflect.Value) []badString {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(val.String()) {
			return notUTF8
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return badUTF8(val.Message())
	}
	return nil
}

// under appends sub to bad, each path prefixed with field.
func under(bad []badString, field string, sub []badString) []badString {
	for _, b := range sub {
		p := field
		if b.path != "" {
			p += "." + b.path
		}
		bad = append(bad, badString{p, b.description})
	}
	return bad
}

// withStrings caches fieldsWithStrings.
var withStrings sync.Map // protoreflect.MessageDescriptor → []protoreflect.FieldDescriptor

// fieldsWithStrings is the fields of md that may hold strings: most
// fields of most requests are numbers, enums and timestamps, which the
// walk skips.
func fieldsWithStrings(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	if f, ok := withStrings.Load(md); ok {
		return f.([]protoreflect.FieldDescriptor)
	}
	var out []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); mayHoldStrings(fd) {
			out = append(out, fd)
		}
	}
	withStrings.Store(md, out)
	return out
}

// mayHoldStrings says whether a value of fd can hold a string: a string
// field, or a message with one at any depth.
func mayHoldStrings(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return fd.MapKey().Kind() == protoreflect.StringKind || mayHoldStrings(fd.MapValue())
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return messageHoldsStrings(fd.Message())
	}
	return false
}

// stringsIn caches messageHoldsStrings.
var stringsIn sync.Map // protoreflect.MessageDescriptor → bool

func messageHoldsStrings(md protoreflect.MessageDescriptor) bool {
	if b, ok := stringsIn.Load(md); ok {
		return b.(bool)
	}
	// A message that contains itself is taken to hold strings while it is
	// being looked at, which is safe: at worst the walk looks in vain.
	stringsIn.Store(md, true)
	holds := false
	fields := md.Fields()
	for i := 0; i < fields.Len() && !holds; i++ {
		holds = mayHoldStrings(fields.Get(i))
	}
	stringsIn.Store(md, holds)
	return holds
}
