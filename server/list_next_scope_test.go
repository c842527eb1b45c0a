package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPartnerPageTokenSaysNothingOfOtherGroups: a food bank's partner
// token lists its own client's requests by her phone number, or by her
// postcode. Another group has since taken a request from the same number
// at the same door. The partner's list holds its one request either way;
// a next_page_token after it, and an empty page behind that, would tell
// the food bank that someone else now helps its client (or someone at her
// postcode unit), which no answer of the server may. A page followed by
// the partner's own record still gets a token, and the token its record.
func TestPartnerPageTokenSaysNothingOfOtherGroups(t *testing.T) {
	h := newHarness(t)
	partner := pb.NewHelpRequestServiceClient(h.partnerConn()) // aberdeen-mutual-aid
	mine := validHelpRequest()
	mine.Organisation = ""
	first, err := partner.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: mine})
	if err != nil {
		t.Fatal(err)
	}
	filters := []struct {
		name string
		req  *pb.ListHelpRequestsRequest
	}{
		{"by phone", &pb.ListHelpRequestsRequest{RequesterPhone: "01224 123456"}},
		{"by postcode unit", &pb.ListHelpRequestsRequest{Postcode: "AB10 1AB"}},
		{"by district", &pb.ListHelpRequestsRequest{Postcode: "AB10"}},
		{"by state", &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN}},
		{"in hand", &pb.ListHelpRequestsRequest{States: []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED}}},
		{"everything", &pb.ListHelpRequestsRequest{}},
	}
	list := func(t *testing.T, req *pb.ListHelpRequestsRequest, size int32, token string) ([]string, string) {
		t.Helper()
		req.PageSize, req.PageToken = size, token
		resp, err := partner.ListHelpRequests(h.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, hr := range resp.HelpRequests {
			names = append(names, hr.Name)
		}
		return names, resp.NextPageToken
	}

	// Another group's request for the same caller, at the same door.
	theirs := validHelpRequest()
	theirs.Organisation = "ferryhill-helpers"
	h.createHR(theirs)
	for _, f := range filters {
		t.Run(f.name+", another group's after", func(t *testing.T) {
			got, next := list(t, f.req, 1, "")
			if len(got) != 1 || got[0] != first.HelpRequest.Name {
				t.Fatalf("listed %v, want the partner's own %s", got, first.HelpRequest.Name)
			}
			if next != "" {
				more, _ := list(t, f.req, 1, next)
				t.Errorf("a page token follows the partner's only request (its next page: %d requests): it tells them another group holds a request there", len(more))
			}
		})
	}

	// The partner's own second request: a token, and the page behind it.
	again := validHelpRequest()
	again.Organisation = ""
	second, err := partner.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: again})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range filters {
		t.Run(f.name+", its own after", func(t *testing.T) {
			got, next := list(t, f.req, 1, "")
			if len(got) != 1 || got[0] != first.HelpRequest.Name || next == "" {
				t.Fatalf("first page %v, token %q; want %s and a token", got, next, first.HelpRequest.Name)
			}
			got, next = list(t, f.req, 1, next)
			if len(got) != 1 || got[0] != second.HelpRequest.Name || next != "" {
				t.Errorf("second page %v, token %q; want %s and no token", got, next, second.HelpRequest.Name)
			}
		})
	}
}
