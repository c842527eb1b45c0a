package client_test

import (
	"context"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEmptyOrganisationAmongSeveral: an admin's (not a partner's) import
// of three rows sharing an external_id: the first leaves the organisation
// out (the server refuses it: an admin's row must name it), the other two
// name two organisations, so are two requests, both imported.
func TestEmptyOrganisationAmongSeveral(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	rows := []*pb.HelpRequest{
		helpRequest("", "ref-7"),
		helpRequest("aberdeen-foodbank", "ref-7"),
		helpRequest("torry-food-bank", "ref-7"),
	}
	rows[2].Requester.Phone = "01224 654321"
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		t.Logf("row %d: %v", i, r)
	}
	for _, i := range []int{1, 2} {
		if results[i].GetHelpRequest() == nil {
			t.Errorf("row %d (its own organisation) was not imported: %v", i, results[i].GetError())
		}
	}
}
