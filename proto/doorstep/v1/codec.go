package doorstepv1

import (
	"fmt"
	"sync"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The gRPC codec of this API. gRPC's default codec encodes through
// protobuf-go's reflection, field by field; the generated *_vtproto.pb.go
// code (buf.gen.yaml) does the same work in straight-line code, about three
// times as fast for a page of candidates, the server's hottest response:
// encoding one was about 15 µs of a FindCandidates call's 115 µs of CPU
// (client and server together), and decoding it another 13.
//
// The wire format is the same protobuf either way, so a client on gRPC's
// default codec, or in another language, talks to a server on this one and
// back. Messages without generated fast paths (the health service's, say)
// go through gRPC's default codec.
//
// Only in one respect do the two differ: protobuf-go refuses a string
// field that is not valid UTF-8, and the generated code does not check.
// What the client package decodes comes from a Doorstep server, whose
// strings passed the server's check on the way in, so ClientCodec decodes
// with the generated code. What a server decodes comes from anyone, so
// ServerCodec decodes with protobuf-go, which also refuses malformed
// bytes the generated code lets through into unknown fields (where the
// server would store them and send them on to clients). But it does not
// refuse a string that is not UTF-8: refused inside gRPC's decoding, it
// would reach the caller as INTERNAL, with protobuf-go's words and no
// field named, before any interceptor could log the call or answer it as
// the caller's mistake. Such a request is decoded as it is, for the server
// to refuse (server/utf8.go).

// fastMessage is what the generated code adds to every message.
type fastMessage interface {
	proto.Message
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
	UnmarshalVT(dAtA []byte) error
}

// ServerCodec encodes with the generated code and decodes with protobuf-go:
// for a server, whose callers may send anything. It does not refuse a
// string that is not UTF-8 (see unmarshalUntrusted): a server using it
// must check every request it decodes, as the Doorstep server's
// interceptor does. Pass it to grpc.ForceServerCodecV2.
func ServerCodec() encoding.CodecV2 { return codec{untrusted: true} }

// ClientCodec encodes and decodes with the generated code: for a client of
// a Doorstep server. Pass it to grpc.ForceCodecV2.
func ClientCodec() encoding.CodecV2 { return codec{} }

type codec struct {
	untrusted bool // decode as unmarshalUntrusted, not UnmarshalTrusted
}

var _ encoding.CodecV2 = codec{}

// Name is gRPC's name for protobuf, so that requests and responses carry
// the content type every gRPC peer expects.
func (codec) Name() string { return grpcproto.Name }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(fastMessage)
	if !ok {
		return standard().Marshal(v)
	}
	size := m.SizeVT()
	if size <= len(smallMessage{}.data) {
		// A small message (every request but a batch, most replies) is
		// one allocation, bytes, buffer and slice together, where a
		// []byte, the mem.SliceBuffer boxed as a mem.Buffer and the
		// mem.BufferSlice were three.
		sm := &smallMessage{}
		b, err := marshalInto(m, sm.data[:size])
		if err != nil {
			return nil, fmt.Errorf("doorstepv1: marshal %T: %w", v, err)
		}
		sm.buf = b
		sm.slice[0] = &sm.buf
		return sm.slice[:], nil
	}
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf, err := marshalInto(m, make([]byte, size))
		if err != nil {
			return nil, fmt.Errorf("doorstepv1: marshal %T: %w", v, err)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	b, err := marshalInto(m, (*buf)[:size])
	if err != nil {
		pool.Put(buf)
		return nil, fmt.Errorf("doorstepv1: marshal %T: %w", v, err)
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// marshalInto encodes m into b, sized by m.SizeVT, and returns the bytes
// written. The generated code writes from the end of b backwards, and its
// size of a oneof holding a nil message (a request's timing set to a
// window or a deadline left nil) is one byte more than it writes: the
// byte left at the front, a zero or a pooled buffer's stale one, made the
// message unreadable, and the server answered a caller's missing window
// as INTERNAL. What was written is moved to the front.
func marshalInto(m fastMessage, b []byte) ([]byte, error) {
	n, err := m.MarshalToSizedBufferVT(b)
	if err != nil {
		return nil, err
	}
	if n < len(b) {
		copy(b, b[len(b)-n:])
		b = b[:n]
	}
	return b, nil
}

// smallMessage is a small encoded message as Marshal returns it: a
// mem.BufferSlice of one buffer (a *mem.SliceBuffer, whose methods are
// mem.SliceBuffer's, which gRPC neither frees nor recycles) over data.
type smallMessage struct {
	slice [1]mem.Buffer
	buf   mem.SliceBuffer
	data  [64]byte
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(fastMessage)
	if !ok {
		return standard().Unmarshal(data, v)
	}
	if c.untrusted {
		if err := unmarshalUntrusted(data, m); err != nil {
			return fmt.Errorf("doorstepv1: unmarshal %T: %w", v, err)
		}
		return nil
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	// The hottest reply has a decoder of its own (page.go).
	if page, ok := m.(*FindCandidatesResponse); ok && unmarshalCandidatesPage(buf.ReadOnlyData(), page) {
		return nil
	}
	if err := UnmarshalTrusted(buf.ReadOnlyData(), m); err != nil {
		return fmt.Errorf("doorstepv1: unmarshal %T: %w", v, err)
	}
	return nil
}

// unmarshalUntrusted is proto.Unmarshal, except that bytes whose only
// fault is a string that is not UTF-8 are decoded, strings and all.
func unmarshalUntrusted(data mem.BufferSlice, m fastMessage) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	err := proto.Unmarshal(b, m)
	if err == nil {
		return nil
	}
	// Refused. protobuf-go reads a message of a proto2 file without
	// checking its strings: if it reads the bytes as a proto2 copy of m's
	// type, they are good but for strings, and the generated code reads
	// them as protobuf-go would have. (If it cannot, as where a known field
	// comes with another wire type, the refusal stands.)
	lt, lerr := lenientType(m.ProtoReflect().Descriptor())
	if lerr != nil || proto.Unmarshal(b, lt.New().Interface()) != nil {
		return err
	}
	proto.Reset(m)
	if m.UnmarshalVT(b) != nil {
		return err
	}
	return nil
}

// lenient holds proto2 copies of the files of message types, made as
// unmarshalUntrusted needs them.
var lenient struct {
	sync.Mutex
	files protoregistry.Files
	types map[protoreflect.FullName]protoreflect.MessageType
}

// lenientType is a dynamic type like md but declared in proto2, whose
// strings protobuf-go does not check, as are the types of its fields.
func lenientType(md protoreflect.MessageDescriptor) (protoreflect.MessageType, error) {
	lenient.Lock()
	defer lenient.Unlock()
	if mt, ok := lenient.types[md.FullName()]; ok {
		return mt, nil
	}
	if err := addLenient(md.ParentFile()); err != nil {
		return nil, err
	}
	d, err := lenient.files.FindDescriptorByName(md.FullName())
	if err != nil {
		return nil, err
	}
	ld, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("doorstepv1: %s is not a message", md.FullName())
	}
	if lenient.types == nil {
		lenient.types = map[protoreflect.FullName]protoreflect.MessageType{}
	}
	mt := dynamicpb.NewMessageType(ld)
	lenient.types[md.FullName()] = mt
	return mt, nil
}

// addLenient adds a proto2 copy of fd, and of every file it imports, to
// lenient.files. The wire format is the same; what differs is only what
// protobuf-go checks, or where it puts what it reads (a closed enum's
// unknown value goes to unknown fields), which does not matter here.
func addLenient(fd protoreflect.FileDescriptor) error {
	if _, err := lenient.files.FindFileByPath(fd.Path()); err == nil {
		return nil
	}
	for i := range fd.Imports().Len() {
		if err := addLenient(fd.Imports().Get(i).FileDescriptor); err != nil {
			return err
		}
	}
	fdp := protodesc.ToFileDescriptorProto(fd)
	if fdp.GetSyntax() == "proto3" {
		fdp.Syntax = nil // proto2
		for _, m := range fdp.MessageType {
			toProto2(m)
		}
	}
	f, err := protodesc.NewFile(fdp, &lenient.files)
	if err != nil {
		return err
	}
	return lenient.files.RegisterFile(f)
}

// toProto2 turns proto3's optional fields, which proto2 does not have,
// into proto2's, dropping their synthetic oneofs.
func toProto2(m *descriptorpb.DescriptorProto) {
	var keep []*descriptorpb.OneofDescriptorProto
	renumber := map[int32]int32{}
	synthetic := map[int32]bool{}
	for _, f := range m.Field {
		if f.GetProto3Optional() {
			synthetic[f.GetOneofIndex()] = true
		}
	}
	for i, o := range m.OneofDecl {
		if !synthetic[int32(i)] {
			renumber[int32(i)] = int32(len(keep))
			keep = append(keep, o)
		}
	}
	m.OneofDecl = keep
	for _, f := range m.Field {
		switch {
		case f.GetProto3Optional():
			f.Proto3Optional, f.OneofIndex = nil, nil
		case f.OneofIndex != nil:
			f.OneofIndex = proto.Int32(renumber[f.GetOneofIndex()])
		}
	}
	for _, n := range m.NestedType {
		toProto2(n)
	}
}

// UnmarshalTrusted is proto.Unmarshal for bytes a trusted encoder made (a
// Doorstep server, or the store reading back its own records): through
// the generated code where m has it, about one and a half times as fast,
// without checking that strings are UTF-8. Whatever protobuf-go would
// decode, it decodes to the same message (FuzzClientCodecAgreesWithProtobufGo):
// where the generated code refuses bytes protobuf-go accepts (a known
// field sent with another wire type, which protobuf-go keeps as an unknown
// field), protobuf-go decodes them instead.
func UnmarshalTrusted(b []byte, m proto.Message) error {
	if f, ok := m.(fastMessage); ok {
		// UnmarshalVT merges into what is there; proto.Unmarshal, whose
		// behaviour callers expect, replaces it.
		proto.Reset(m)
		if f.UnmarshalVT(b) == nil {
			return nil
		}
	}
	return proto.Unmarshal(b, m)
}

// standard is gRPC's default codec, which gRPC registers when its proto
// codec package is linked in, as it is here.
func standard() encoding.CodecV2 { return encoding.GetCodecV2(grpcproto.Name) }

// DiscardUnknown removes the unknown fields of m and of every message in
// it: the server drops those a request carries (a client built from a
// newer API), so that they are never stored beside the sealed personal
// fields, outside every check.
func DiscardUnknown(m protoreflect.Message) {
	if len(m.GetUnknown()) > 0 {
		m.SetUnknown(nil)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if isMessage(fd.MapValue()) {
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
					DiscardUnknown(e.Message())
					return true
				})
			}
		case !isMessage(fd):
		case fd.IsList():
			for l, i := v.List(), 0; i < l.Len(); i++ {
				DiscardUnknown(l.Get(i).Message())
			}
		default:
			DiscardUnknown(v.Message())
		}
		return true
	})
}

func isMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
}
