package server_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/doorstep-aid/doorstep/internal/protorand"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// unaryMethod is one of the API's unary RPCs, with its message types.
type unaryMethod struct {
	path      string // "/doorstep.v1.HelpRequestService/CreateHelpRequest"
	req, resp protoreflect.MessageType
}

func unaryMethods(tb testing.TB) []unaryMethod {
	tb.Helper()
	_ = pb.File_doorstep_v1_matching_proto // linked in, so registered
	var out []unaryMethod
	protoregistry.GlobalFiles.RangeFilesByPackage("doorstep.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				if md.IsStreamingClient() || md.IsStreamingServer() {
					continue
				}
				req, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				if err != nil {
					tb.Fatal(err)
				}
				resp, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
				if err != nil {
					tb.Fatal(err)
				}
				out = append(out, unaryMethod{path: "/" + string(sd.FullName()) + "/" + string(md.Name()), req: req, resp: resp})
			}
		}
		return true
	})
	slices.SortFunc(out, func(a, b unaryMethod) int {
		if a.path < b.path {
			return -1
		}
		return 1
	})
	if len(out) < 25 {
		tb.Fatalf("found %d unary methods; the registry is not what this test expects", len(out))
	}
	return out
}

// FuzzEveryCallAnswersCleanly sends every unary RPC requests filled at
// random, as an admin (who may call anything): now and then well formed,
// often not (missing fields, enum numbers the API does not define, NaN
// coordinates, extreme numbers, long strings, names of records that exist
// and that do not). Whatever comes in, the answer is a success or a clear
// error: never INTERNAL or UNKNOWN (a panic, or an error the server did not
// expect), every error with its ErrorInfo reason, and INVALID_ARGUMENT
// naming the fields at fault. Its seeds, run by go test, call every method
// a few ways; go test -fuzz FuzzEveryCall ./server/ explores further.
func FuzzEveryCallAnswersCleanly(f *testing.F) {
	methods := unaryMethods(f)
	for i := range methods {
		for _, c := range []struct{ wild, sparse bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
			f.Add(uint64(i*4), uint8(i), c.wild, c.sparse)
		}
	}
	h := newHarnessWithClock(f, nil, server.WithRateLimit(0, 0)) // one principal at full speed
	hr := h.createHR(validHelpRequest())
	v := h.createVol(validVolunteer())
	names := []string{hr.Name, v.Name, hr.Etag, v.Etag, "tokens/00000000000000000000000000"}
	if o, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: v.Name}); err == nil {
		names = append(names, o.GetOffer().GetName())
	}
	// Valid requests to change a few fields of: random ones are nearly
	// always refused by the first check they meet.
	bases := map[string]proto.Message{
		"/doorstep.v1.HelpRequestService/CreateHelpRequest":       &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest()},
		"/doorstep.v1.HelpRequestService/BatchCreateHelpRequests": &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{validHelpRequest(), validHelpRequest()}},
		"/doorstep.v1.HelpRequestService/UpdateHelpRequest":       &pb.UpdateHelpRequestRequest{HelpRequest: hr},
		"/doorstep.v1.VolunteerService/CreateVolunteer":           &pb.CreateVolunteerRequest{Volunteer: validVolunteer()},
		"/doorstep.v1.VolunteerService/UpdateVolunteer":           &pb.UpdateVolunteerRequest{Volunteer: v},
		"/doorstep.v1.MatchingService/FindCandidates":             &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 20},
		"/doorstep.v1.MatchingService/CreateOffer":                &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: v.Name},
	}
	f.Fuzz(func(t *testing.T, seed uint64, which uint8, wild, sparse bool) {
		m := methods[int(which)%len(methods)]
		filler := &protorand.Filler{Rng: rand.New(rand.NewPCG(seed, uint64(which))), Depth: 3, Wild: wild, Sparse: sparse, Names: names}
		base := bases[m.path]
		if sparse {
			base = nil
		}
		req := randomRequest(filler, m.req, base, seed)
		ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
		defer cancel()
		err := h.conn.Invoke(ctx, m.path, req.Interface(), m.resp.New().Interface())
		if err == nil {
			return
		}
		code, _, fields := errorOf(t, err)
		switch {
		case code == codes.Internal || code == codes.Unknown || code == codes.DataLoss || code == codes.Unimplemented:
			t.Fatalf("%s(%v): %v", m.path, shortText(req.Interface()), err)
		case code == codes.InvalidArgument && len(fields) == 0:
			t.Errorf("%s: INVALID_ARGUMENT names no field: %v", m.path, err)
		}
	})
}

func shortText(m proto.Message) string {
	s := m.(interface{ String() string }).String()
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// randomRequest is a request of kind: base with one to three of its
// fields changed by f, or, without a base, one f fills afresh.
func randomRequest(f *protorand.Filler, kind protoreflect.MessageType, base proto.Message, seed uint64) protoreflect.Message {
	if base != nil {
		req := proto.Clone(base).ProtoReflect()
		f.Mutate(req, 1+int(seed%3))
		return req
	}
	req := kind.New()
	f.Fill(req)
	return req
}
