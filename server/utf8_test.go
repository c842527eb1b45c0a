package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// rawCodec sends bytes as they are, as a client in a language whose
// protobuf runtime does not check UTF-8 would.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)   { return v.([]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error { *(v.(*[]byte)) = b; return nil }
func (rawCodec) Name() string                    { return "proto" }

// notUTF8 is a name with a byte that is not UTF-8, as protobufjs sends a
// string with a lone surrogate. The test looks for it in replies and logs.
const notUTF8 = "Marg\xffaret"

// A string that is not UTF-8, at any depth, is the caller's mistake:
// INVALID_ARGUMENT with ErrorInfo, naming the field as the server names
// bad fields (AIP-193), never protobuf's words nor the bytes, and the call
// is logged. gRPC's default codec will not send such a string; the client
// codec, which does not check, sends it as another runtime would.
func TestInvalidUTF8IsInvalidArgument(t *testing.T) {
	h := newHarness(t)
	send := grpc.ForceCodecV2(pb.ClientCodec())
	hr := h.createHR(validHelpRequest())
	for _, tc := range []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"hand-built bytes", func() error {
			raw := []byte{0x0a, 0x03, 'a', 0xff, 'b'} // GetHelpRequestRequest{name: "a\xffb"}
			var out []byte
			return h.conn.Invoke(h.ctx, pb.HelpRequestService_GetHelpRequest_FullMethodName, raw, &out, grpc.ForceCodec(rawCodec{}))
		}, []string{"name"}},
		{"nested", func() error {
			in := validHelpRequest()
			in.Requester.DisplayName = notUTF8
			_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: in}, send)
			return err
		}, []string{"help_request.requester.display_name"}},
		{"repeated, in repeated", func() error {
			rows := []*pb.HelpRequest{validHelpRequest(), validHelpRequest()}
			rows[1].Location.AddressLines = []string{"Flat 2", notUTF8}
			_, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows}, send)
			return err
		}, []string{"help_requests[1].location.address_lines[1]"}},
		{"every one named", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: notUTF8, Location: &pb.Location{Street: notUTF8}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details", "location.\xff"}}}, send)
			return err
		}, []string{"help_request.location.street", "help_request.details", "update_mask.paths[1]"}},
		{"volunteer", func() error {
			in := validVolunteer()
			in.Skills = []string{"driver", notUTF8}
			_, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: in}, send)
			return err
		}, []string{"volunteer.skills[1]"}},
		{"stream", func() error {
			s, err := h.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{Organisation: notUTF8}, send)
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, []string{"organisation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			code, reason, fields := errorOf(t, err)
			if code != codes.InvalidArgument || reason != "INVALID_FIELDS" {
				t.Fatalf("got %v (reason %q), want INVALID_ARGUMENT, INVALID_FIELDS", err, reason)
			}
			slices.Sort(fields)
			slices.Sort(tc.fields)
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields %q, want %q", fields, tc.fields)
			}
			st, _ := status.FromError(err)
			reply := st.Message()
			for _, d := range st.Proto().Details {
				reply += string(d.Value)
			}
			if strings.Contains(reply, "\xff") || strings.Contains(reply, "Marg") || strings.Contains(reply, "unmarshal") {
				t.Errorf("the reply echoes the bytes or protobuf's words: %q", reply)
			}
		})
	}

	if n := h.logs.FilterField(zap.String("code", codes.InvalidArgument.String())).Len(); n != 6 {
		t.Errorf("%d refused calls logged, want 6", n)
	}
	for _, e := range h.logs.All() {
		if line := e.Message + " " + fmt.Sprint(e.ContextMap()); strings.Contains(line, "Marg") || strings.Contains(line, "\xff") {
			t.Errorf("a log line carries the bytes: %q", line)
		}
	}
}

// Only a caller who may make the call is told what is wrong with it.
func TestInvalidUTF8AfterAuthentication(t *testing.T) {
	h := newHarness(t)
	anon := pb.NewHelpRequestServiceClient(h.as(""))
	_, err := anon.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: notUTF8}, grpc.ForceCodecV2(pb.ClientCodec()))
	if code, _, _ := errorOf(t, err); code != codes.Unauthenticated {
		t.Errorf("without a token: %v, want UNAUTHENTICATED", err)
	}
}

// What the server sends stays UTF-8: a good request's strings come back as
// sent, and every reply reads through protobuf-go, which checks.
func TestValidUTF8IsUntouched(t *testing.T) {
	h := newHarness(t)
	in := validHelpRequest()
	in.Requester.DisplayName = "Seán Ó Dálaigh 🙂"
	created := h.createHR(in)
	got, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: created.Name}, grpc.ForceCodecV2(pb.ClientCodec()))
	if err != nil {
		t.Fatal(err)
	}
	if got.HelpRequest.Requester.DisplayName != in.Requester.DisplayName {
		t.Errorf("display name %q, sent %q", got.HelpRequest.Requester.DisplayName, in.Requester.DisplayName)
	}
	if _, err := proto.Marshal(got); err != nil {
		t.Errorf("the reply is not valid protobuf: %v", err)
	}
}
