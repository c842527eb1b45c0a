package doorstepv1_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/internal/protorand"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// apiMessages are every message type of doorstep.v1.
func apiMessages(t *testing.T) []protoreflect.MessageType {
	t.Helper()
	_ = pb.File_doorstep_v1_matching_proto // linked in, so registered
	var out []protoreflect.MessageType
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if mt.Descriptor().ParentFile().Package() == "doorstep.v1" {
			out = append(out, mt)
		}
		return true
	})
	if len(out) < 50 {
		t.Fatalf("found %d doorstep.v1 message types; the registry is not what this test expects", len(out))
	}
	return out
}

// encode and decode go through the codec as gRPC would: buffers in, buffers out.
func encode(t *testing.T, c encoding.CodecV2, m proto.Message) []byte {
	t.Helper()
	data, err := c.Marshal(m)
	if err != nil {
		t.Fatalf("%s: Marshal: %v", m.ProtoReflect().Descriptor().FullName(), err)
	}
	defer data.Free()
	return data.Materialize()
}

func decode(c encoding.CodecV2, b []byte, m proto.Message) error {
	return c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
}

// Every message, filled at random, encoded by either codec reads back equal
// through protobuf-go, and what protobuf-go encodes reads back equal through
// either: the fast paths speak the same protobuf as everyone else.
func TestCodecsAgreeWithProtobufGo(t *testing.T) {
	filler := &protorand.Filler{Rng: rand.New(rand.NewPCG(1, 2)), Depth: 3}
	codecs := map[string]encoding.CodecV2{"server": pb.ServerCodec(), "client": pb.ClientCodec()}
	for _, mt := range apiMessages(t) {
		name := string(mt.Descriptor().FullName())
		for round := range 20 {
			m := mt.New()
			filler.Fill(m)
			orig := m.Interface()
			if round == 0 {
				// An unknown field, as from a newer peer, is carried through.
				m.SetUnknown(protowire.AppendString(protowire.AppendTag(nil, 9999, protowire.BytesType), "from a newer version"))
			}
			for cname, c := range codecs {
				b := encode(t, c, orig)
				back := mt.New().Interface()
				if err := proto.Unmarshal(b, back); err != nil {
					t.Fatalf("%s (%s codec): protobuf-go cannot read it: %v", name, cname, err)
				}
				if !proto.Equal(orig, back) {
					t.Fatalf("%s (%s codec): encoded\n%v\nread back by protobuf-go\n%v", name, cname, orig, back)
				}
				if size := proto.Size(orig); len(b) != size {
					t.Errorf("%s (%s codec): %d bytes, protobuf-go makes %d", name, cname, len(b), size)
				}

				std, err := proto.Marshal(orig)
				if err != nil {
					t.Fatal(err)
				}
				got := mt.New().Interface()
				if err := decode(c, std, got); err != nil {
					t.Fatalf("%s (%s codec): cannot read protobuf-go's encoding: %v", name, cname, err)
				}
				if !proto.Equal(orig, got) {
					t.Fatalf("%s (%s codec): protobuf-go encoded\n%v\nread back\n%v", name, cname, orig, got)
				}
			}
		}
	}
}

func TestCodecsUseTheGeneratedCodeForEveryMessage(t *testing.T) {
	for _, mt := range apiMessages(t) {
		if _, ok := mt.New().Interface().(interface {
			MarshalToSizedBufferVT([]byte) (int, error)
			UnmarshalVT([]byte) error
		}); !ok {
			t.Errorf("%s has no generated fast paths: is protoc-gen-go-vtproto still in buf.gen.yaml?", mt.Descriptor().FullName())
		}
	}
}

// Decoding replaces what the message held, as proto.Unmarshal does; the
// generated code alone would merge into it.
func TestCodecsDecodeReplaces(t *testing.T) {
	b := encode(t, pb.ClientCodec(), &pb.Candidate{Volunteer: "volunteers/b"})
	for _, c := range []encoding.CodecV2{pb.ServerCodec(), pb.ClientCodec()} {
		m := &pb.Candidate{Volunteer: "volunteers/a", DisplayName: "Ann", Score: 3}
		if err := decode(c, b, m); err != nil {
			t.Fatal(err)
		}
		if want := (&pb.Candidate{Volunteer: "volunteers/b"}); !proto.Equal(m, want) {
			t.Errorf("decoded into a used message: %v, want %v", m, want)
		}
	}
}

// A server decodes what anyone sends, as protobuf-go does, but for a
// string that is not UTF-8, which it decodes as it is for the server to
// refuse with the field named (server/utf8.go): a refusal in the codec
// would reach the caller as INTERNAL. The client trusts its server's.
func TestServerCodecLeavesUTF8ToTheServer(t *testing.T) {
	bad := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "helpRequests/\xff")
	var m pb.FindCandidatesRequest
	if err := decode(pb.ServerCodec(), bad, &m); err != nil || m.HelpRequest != "helpRequests/\xff" {
		t.Errorf("ServerCodec: %q, %v; want the string as sent", m.HelpRequest, err)
	}
	// Bad at depth, in a repeated field of a well-known type, beside a
	// proto3 optional field.
	deep := &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Requester: &pb.Contact{DisplayName: "\xff"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"a", "\xff"}}}
	offer := &pb.Offer{Name: "\xff", DistanceMetres: proto.Int32(0)}
	for _, in := range []proto.Message{deep, offer} {
		got := in.ProtoReflect().Type().New().Interface()
		if err := decode(pb.ServerCodec(), encode(t, pb.ClientCodec(), in), got); err != nil || !proto.Equal(in, got) {
			t.Errorf("ServerCodec: %v, %v; want %v", got, err, in)
		}
	}
	// Bytes that are not protobuf stay refused, with a bad string or not.
	badGroup := []byte("C$0\xba0100000000") // a group ended by another field's end
	for _, b := range [][]byte{bad[:len(bad)-3], badGroup, append(bad, badGroup...)} {
		if err := decode(pb.ServerCodec(), b, &pb.FindCandidatesRequest{}); err == nil {
			t.Errorf("ServerCodec decoded %q", b)
		}
	}
	if err := decode(pb.ClientCodec(), bad[:len(bad)-3], &pb.FindCandidatesRequest{}); err == nil {
		t.Error("ClientCodec decoded a truncated message")
	}
}

// Messages of other APIs (the health service's) go through gRPC's own codec.
func TestCodecsFallBackForOtherMessages(t *testing.T) {
	for _, c := range []encoding.CodecV2{pb.ServerCodec(), pb.ClientCodec()} {
		if c.Name() != "proto" {
			t.Errorf("Name() = %q: peers expect the content type of gRPC's proto codec", c.Name())
		}
		in := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
		var out healthpb.HealthCheckResponse
		if err := decode(c, encode(t, c, in), &out); err != nil || !proto.Equal(in, &out) {
			t.Errorf("health response round trip: %v, %v", &out, err)
		}
		if _, err := c.Marshal("not a message"); err == nil {
			t.Error("Marshal of a string succeeded")
		}
	}
}

// A response large enough for gRPC's buffer pool is encoded into a pooled
// buffer, and still reads back whole.
func TestCodecsLargeMessage(t *testing.T) {
	in := &pb.FindCandidatesResponse{Summary: "x"}
	for i := range 100 {
		in.Candidates = append(in.Candidates, &pb.Candidate{Volunteer: fmt.Sprintf("volunteers/v%d", i), Explanation: strings.Repeat("é", 200), ScoreParts: &pb.ScoreParts{Distance: float64(i)}})
	}
	for _, c := range []encoding.CodecV2{pb.ServerCodec(), pb.ClientCodec()} {
		data, err := c.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if mem.IsBelowBufferPoolingThreshold(data.Len()) {
			t.Fatalf("%d bytes: below the pooling threshold, the test misses the pooled path", data.Len())
		}
		var out pb.FindCandidatesResponse
		err = c.Unmarshal(data, &out)
		data.Free()
		if err != nil || !proto.Equal(in, &out) {
			t.Fatalf("large response round trip: equal %v, %v", proto.Equal(in, &out), err)
		}
	}
}

// A page of candidates decodes into a few allocations, not several per
// candidate, and what it decodes does not change when gRPC reuses the
// buffer it came in.
func TestClientCodecDecodesAPageWhole(t *testing.T) {
	page := &pb.FindCandidatesResponse{Summary: "2 are away then", ReachMetres: 1500, VolunteerComing: "volunteers/c",
		Exclusions: []*pb.Exclusion{{Reason: "AWAY", Count: 2}, {Reason: "MISSING_SKILL", Detail: "driver", Count: 1}}}
	for i := range 20 {
		page.Candidates = append(page.Candidates, &pb.Candidate{
			Volunteer: fmt.Sprintf("volunteers/v%d", i), DisplayName: "Margaret W", DistanceMetres: 312.5, SameStreet: i == 0,
			Score: 212.5, ScoreParts: &pb.ScoreParts{Distance: 312.5, SameStreet: -100}, Explanation: "0.3 km, same street",
		})
	}
	wire := encode(t, pb.ClientCodec(), page)
	buf := slices.Clone(wire)
	var got pb.FindCandidatesResponse
	if err := decode(pb.ClientCodec(), buf, &got); err != nil {
		t.Fatal(err)
	}
	clear(buf) // as gRPC's pool hands the buffer to the next reply
	if !proto.Equal(page, &got) {
		t.Errorf("after its buffer was reused, the page reads\n%v\nwant\n%v", &got, page)
	}
	// The generated decoder made 109 (a Candidate, a ScoreParts and three
	// strings a candidate).
	allocs := testing.AllocsPerRun(100, func() {
		if err := decode(pb.ClientCodec(), wire, &got); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 8 {
		t.Errorf("decoding a page of 20 candidates made %v allocations, want at most 8", allocs)
	}
}

// BenchmarkCodec encodes and decodes a page of 20 candidates, the server's
// hottest response, with gRPC's default codec and with this package's.
//
//	go test -run '^$' -bench Codec ./proto/doorstep/v1/
func BenchmarkCodec(b *testing.B) {
	page := &pb.FindCandidatesResponse{ReachMetres: 1500}
	for i := range 20 {
		page.Candidates = append(page.Candidates, &pb.Candidate{
			Volunteer: fmt.Sprintf("volunteers/01JB7Q%020d", i), DisplayName: "Margaret W", DistanceMetres: 312.5 + float64(i),
			SameStreet: i == 0, Score: 212.5, ScoreParts: &pb.ScoreParts{Distance: 312.5, SameStreet: -100, Fairness: 50},
			Explanation: "0.3 km, same street, has driver, free Tue 10:00-12:00",
		})
	}
	wire, err := proto.Marshal(page)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		codec encoding.CodecV2
	}{{"grpc-default", encoding.GetCodecV2("proto")}, {"server", pb.ServerCodec()}, {"client", pb.ClientCodec()}} {
		b.Run("marshal/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				data, err := c.codec.Marshal(page)
				if err != nil {
					b.Fatal(err)
				}
				data.Free()
			}
		})
		b.Run("unmarshal/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				var out pb.FindCandidatesResponse
				if err := decode(c.codec, wire, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzClientCodecAgreesWithProtobufGo feeds arbitrary bytes, as a broken or
// hostile server might send, to the client's decoder and to protobuf-go's:
// the generated decoder must never panic, and where protobuf-go accepts
// the bytes it must read the same message. (It may accept more: it does
// not check UTF-8.)
func FuzzClientCodecAgreesWithProtobufGo(f *testing.F) {
	filler := &protorand.Filler{Rng: rand.New(rand.NewPCG(3, 4)), Depth: 3}
	for range 20 {
		m := &pb.FindCandidatesResponse{}
		filler.Fill(m.ProtoReflect())
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []proto.Message{&pb.FindCandidatesResponse{}, &pb.HelpRequest{}, &pb.Volunteer{}, &pb.Event{}} {
			want := m.ProtoReflect().Type().New().Interface()
			errStd := proto.Unmarshal(b, want)
			got := m.ProtoReflect().Type().New().Interface()
			errFast := decode(pb.ClientCodec(), b, got)
			if errStd == nil && errFast != nil {
				t.Fatalf("%T: protobuf-go reads it, the client codec says %v", m, errFast)
			}
			// Unknown fields are not the client's concern (the server drops
			// them on arrival, so its replies carry none), and the generated
			// decoder leaves out those inside well-known types.
			pb.DiscardUnknown(want.ProtoReflect())
			pb.DiscardUnknown(got.ProtoReflect())
			if errStd == nil && !proto.Equal(want, got) {
				t.Fatalf("%T: protobuf-go reads\n%v\nthe client codec\n%v", m, want, got)
			}
		}
	})
}

// FuzzServerCodecAgreesWithProtobufGo feeds arbitrary bytes, as a hostile
// caller might send, to the server's decoder and to protobuf-go's: where
// protobuf-go accepts the bytes the server reads the same message, and it
// accepts more only where protobuf-go's complaint is strings that are not
// UTF-8: with those mended, what it read is protobuf, unknown fields and
// all.
func FuzzServerCodecAgreesWithProtobufGo(f *testing.F) {
	filler := &protorand.Filler{Rng: rand.New(rand.NewPCG(5, 6)), Depth: 3}
	for _, m := range []proto.Message{&pb.CreateHelpRequestRequest{}, &pb.UpdateVolunteerRequest{}, &pb.FindCandidatesRequest{}} {
		for range 10 {
			m := m.ProtoReflect().Type().New()
			filler.Fill(m)
			b, err := proto.Marshal(m.Interface())
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{0x0a, 0x03, 'a', 0xff, 'b'})
	f.Add([]byte("C$0\xba0100000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []proto.Message{&pb.CreateHelpRequestRequest{}, &pb.BatchCreateHelpRequestsRequest{}, &pb.UpdateVolunteerRequest{},
			&pb.ListHelpRequestsRequest{}, &pb.FindCandidatesRequest{}, &pb.WatchEventsRequest{}} {
			want := m.ProtoReflect().Type().New().Interface()
			errStd := proto.Unmarshal(b, want)
			got := m.ProtoReflect().Type().New().Interface()
			errSrv := decode(pb.ServerCodec(), b, got)
			switch {
			case errStd == nil && errSrv != nil:
				t.Fatalf("%T: protobuf-go reads it, the server codec says %v", m, errSrv)
			case errStd == nil && !proto.Equal(want, got):
				t.Fatalf("%T: protobuf-go reads\n%v\nthe server codec\n%v", m, want, got)
			case errStd != nil && errSrv == nil:
				// (A bad string may be gone: a later value of the field
				// replaced it.)
				mendUTF8(got.ProtoReflect())
				again, err := proto.Marshal(got)
				if err == nil {
					err = proto.Unmarshal(again, m.ProtoReflect().Type().New().Interface())
				}
				if err != nil {
					t.Fatalf("%T: the server codec reads what protobuf-go refuses (%v), and not only for a string: %v", m, errStd, err)
				}
			}
		}
	})
}

// mendUTF8 makes every string in m UTF-8, and says whether any was not.
// (Map keys are left: none of the fuzzed messages has a map.)
func mendUTF8(m protoreflect.Message) bool {
	mended := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				switch fd.Kind() {
				case protoreflect.StringKind:
					if s := l.Get(i).String(); !utf8.ValidString(s) {
						l.Set(i, protoreflect.ValueOfString(strings.ToValidUTF8(s, "?")))
						mended = true
					}
				case protoreflect.MessageKind:
					mended = mendUTF8(l.Get(i).Message()) || mended
				}
			}
		case fd.IsMap():
		case fd.Kind() == protoreflect.StringKind:
			if s := v.String(); !utf8.ValidString(s) {
				m.Set(fd, protoreflect.ValueOfString(strings.ToValidUTF8(s, "?")))
				mended = true
			}
		case fd.Kind() == protoreflect.MessageKind:
			mended = mendUTF8(v.Message()) || mended
		}
		return true
	})
	return mended
}

// A request whose timing holds a window or a deadline left unset (a Go
// program's Timing: &HelpRequest_Window{Window: w} with w nil) is encoded
// as protobuf-go encodes it, an empty message, so that the server reads it
// and names the field the caller left out; the generated size of such a
// oneof is one byte more than its encoder writes. In a batch, big enough
// for a pooled buffer, the stray byte would be a previous message's.
func TestCodecsEncodeAnUnsetTimingAsProtobufGo(t *testing.T) {
	for _, unset := range []func() *pb.HelpRequest{
		func() *pb.HelpRequest { return &pb.HelpRequest{Timing: &pb.HelpRequest_Window{}} },
		func() *pb.HelpRequest { return &pb.HelpRequest{Timing: &pb.HelpRequest_Deadline{}} },
	} {
		timing := unset().GetTiming()
		small := &pb.CreateHelpRequestRequest{HelpRequest: unset()}
		batch := &pb.BatchCreateHelpRequestsRequest{}
		for range 500 {
			r := unset()
			r.Details = strings.Repeat("x", 20)
			batch.HelpRequests = append(batch.HelpRequests, r)
		}
		for _, m := range []proto.Message{small, batch} {
			for cname, c := range map[string]encoding.CodecV2{"server": pb.ServerCodec(), "client": pb.ClientCodec()} {
				b := encode(t, c, m)
				std, err := proto.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(b, std) {
					t.Errorf("%T with %T (%s codec): %d bytes starting % x, protobuf-go makes %d starting % x",
						m, timing, cname, len(b), b[:min(len(b), 8)], len(std), std[:min(len(std), 8)])
				}
			}
		}
	}
}
