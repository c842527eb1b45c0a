package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestImportDuplicateExternalIDPartnerOrganisationLeftOut: a partner's
// file names its organisation on some rows and leaves it out on others
// (the token says whose they are). A correction appended below the
// original, past the first batch, without the organisation, is the same
// record: it fails as a repeat of the first row, and is not reported as
// already stored, its own details quietly dropped.
func TestImportDuplicateExternalIDPartnerOrganisationLeftOut(t *testing.T) {
	s := newTestServer(t)
	c := partnerClient(t, s, "torry-food-bank")
	var rows []*pb.HelpRequest
	for i := range client.MaxImportBatch {
		rows = append(rows, helpRequest("torry-food-bank", fmt.Sprintf("tfb-%d", i)))
	}
	late := helpRequest("", "tfb-0")
	late.Details = "correction"
	rows = append(rows, late)
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	got := results[len(rows)-1]
	if e := got.GetError(); got.GetExisting() || e.GetReason() != client.ReasonDuplicateInBatch {
		t.Errorf("the correction without its organisation: %v, want %s naming row 0", got, client.ReasonDuplicateInBatch)
	}
}
