package server_test

// A food-distribution partner integrating from another language, with only
// the protos and the README: what its client sends as it writes it.
// The harness's connections use gRPC's default codec, as any client
// that is not the Go client package looks to the server.

import (
	"io"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPartnerMalformedOrganisationNamesTheField: AdminService names an
// organisation "organisations/{slug}", and a partner's client may send that
// (or a typo such as an underscore) where a request wants the slug. A
// coordinator doing so is told INVALID_ARGUMENT naming the field; a
// partner was told PERMISSION_DENIED, "for its own organisation only",
// naming nothing, when it had meant its own. A well-formed organisation
// that is another's is still PERMISSION_DENIED.
func TestPartnerMalformedOrganisationNamesTheField(t *testing.T) {
	h := newHarness(t)
	conn := h.partnerConn()
	hrc := pb.NewHelpRequestServiceClient(conn)
	evc := pb.NewEventServiceClient(conn)
	withOrg := func(org string) *pb.HelpRequest {
		hr := validHelpRequest()
		hr.Organisation, hr.ExternalId = org, "fb-1"
		return hr
	}
	calls := []struct {
		name  string
		field string
		call  func(org string) (codes.Code, string, []string)
	}{
		{"create", "help_request.organisation", func(org string) (codes.Code, string, []string) {
			_, err := hrc.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: withOrg(org)})
			return errorOf(t, err)
		}},
		{"batch row", "organisation", func(org string) (codes.Code, string, []string) {
			resp, err := hrc.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{withOrg(org)}})
			if err != nil {
				t.Fatal(err)
			}
			e := resp.Results[0].GetError()
			var fields []string
			for _, fv := range e.GetFieldViolations() {
				fields = append(fields, fv.Field)
			}
			code := codes.OK
			if e != nil && code.UnmarshalJSON([]byte(`"`+e.Code+`"`)) != nil {
				t.Fatalf("row error code %q", e.Code)
			}
			return code, e.GetReason(), fields
		}},
		{"list", "organisation", func(org string) (codes.Code, string, []string) {
			_, err := hrc.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{Organisation: org})
			return errorOf(t, err)
		}},
		{"watch", "organisation", func(org string) (codes.Code, string, []string) {
			s, err := evc.WatchEvents(h.ctx, &pb.WatchEventsRequest{Organisation: org})
			if err == nil {
				_, err = s.Recv()
			}
			if err == io.EOF {
				t.Fatal("stream ended without an error")
			}
			return errorOf(t, err)
		}},
	}
	for _, c := range calls {
		for _, org := range []string{"organisations/aberdeen-mutual-aid", "aberdeen_mutual_aid"} {
			code, reason, fields := c.call(org)
			if code != codes.InvalidArgument || reason != "INVALID_FIELDS" || len(fields) != 1 || fields[0] != c.field {
				t.Errorf("%s with organisation %q: %v %s %v; want INVALID_ARGUMENT naming %s", c.name, org, code, reason, fields, c.field)
			}
		}
		if code, reason, _ := c.call("other-food-bank"); code != codes.PermissionDenied || reason != "PERMISSION_DENIED" {
			t.Errorf("%s with another organisation: %v %s; want PERMISSION_DENIED", c.name, code, reason)
		}
	}
	if reqs, _ := h.countStored(); reqs != 0 {
		t.Errorf("%d requests stored", reqs)
	}
}
