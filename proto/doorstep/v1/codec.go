package doorstepv1

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
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
// What a server decodes comes from anyone, so ServerCodec decodes with
// protobuf-go; what the client package decodes comes from a Doorstep
// server, whose strings passed that check on the way in, so ClientCodec
// decodes with the generated code too.

// fastMessage is what the generated code adds to every message.
type fastMessage interface {
	proto.Message
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
	UnmarshalVT(dAtA []byte) error
}

// ServerCodec encodes with the generated code and decodes with protobuf-go,
// which checks strings are UTF-8: for a server, whose callers may send
// anything. Pass it to grpc.ForceServerCodecV2.
func ServerCodec() encoding.CodecV2 { return codec{} }

// ClientCodec encodes and decodes with the generated code: for a client of
// a Doorstep server. Pass it to grpc.ForceCodecV2.
func ClientCodec() encoding.CodecV2 { return codec{fastDecode: true} }

type codec struct {
	fastDecode bool
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
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if _, err := m.MarshalToSizedBufferVT(buf); err != nil {
			return nil, fmt.Errorf("doorstepv1: marshal %T: %w", v, err)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := m.MarshalToSizedBufferVT((*buf)[:size]); err != nil {
		pool.Put(buf)
		return nil, fmt.Errorf("doorstepv1: marshal %T: %w", v, err)
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(fastMessage)
	if !ok || !c.fastDecode {
		return standard().Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if err := UnmarshalTrusted(buf.ReadOnlyData(), m); err != nil {
		return fmt.Errorf("doorstepv1: unmarshal %T: %w", v, err)
	}
	return nil
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
