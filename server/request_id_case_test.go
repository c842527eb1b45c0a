package server_test

// A food-distribution partner integrating from another language, with only
// the protos and the README: what its client sends as it writes it.
// The harness's connections use gRPC's default codec, as any client
// that is not the Go client package looks to the server.

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRequestIDInCapitalsIsTheSameCall: a UUID is the same UUID in either
// case (RFC 9562 reads hex digits case-insensitively), and the server
// accepts both. A partner whose retry reads the request_id back from a
// store that keeps UUIDs in capitals (SQL Server's uniqueidentifier, .NET's
// Guid.ToString("D").ToUpper()) sends the first call's id in capitals: the
// retry stored the request a second time, and a volunteer could be sent to
// the door twice.
func TestRequestIDInCapitalsIsTheSameCall(t *testing.T) {
	const lower = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	for _, tc := range []struct {
		name    string
		creator func(h *harness) func(id string) (string, error)
	}{
		{"help request", func(h *harness) func(string) (string, error) {
			partner := pb.NewHelpRequestServiceClient(h.partnerConn())
			hr := validHelpRequest()
			hr.Organisation = "" // the partner's own
			return func(id string) (string, error) {
				r, err := partner.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: proto.Clone(hr).(*pb.HelpRequest), RequestId: id})
				return r.GetHelpRequest().GetName(), err
			}
		}},
		{"volunteer", func(h *harness) func(string) (string, error) {
			return func(id string) (string, error) {
				r, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: validVolunteer(), RequestId: id})
				return r.GetVolunteer().GetName(), err
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			create := tc.creator(h)
			first, err := create(lower)
			if err != nil {
				t.Fatal(err)
			}
			again, err := create(strings.ToUpper(lower))
			if err != nil || again != first {
				t.Errorf("retry with the request_id in capitals: %s (%v), want %s", again, err, first)
			}
			if reqs, vols := h.countStored(); reqs+vols != 1 {
				t.Errorf("stored %d requests and %d volunteers after one create and its retry", reqs, vols)
			}
		})
	}
}
