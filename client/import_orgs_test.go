package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEmptyOrganisationAmongSeveral: an admin's (not a partner's) import
// of three rows sharing an external_id: the first leaves the organisation
// out, which for a partner's token means its own. The client cannot know
// whose token it holds, so the other two are refused as repeats of the
// first, by name, never silently dropped; the first fails at the server
// (an admin's row must name its organisation), and the message says to
// correct it there.
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
	if results[0].GetError() == nil {
		t.Errorf("row 0, without an organisation, was stored for an admin: %v", results[0])
	}
	for _, i := range []int{1, 2} {
		e := results[i].GetError()
		if e.GetReason() != client.ReasonDuplicateInBatch || !strings.Contains(e.GetMessage(), "row 0") || !strings.Contains(e.GetMessage(), "correct it there") {
			t.Errorf("row %d: %v, want DUPLICATE_IN_BATCH naming row 0", i, results[i])
		}
	}
}
