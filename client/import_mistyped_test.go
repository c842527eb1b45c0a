package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPartnerRepeatWithOneMistypedOrganisation: as
// TestPartnerRepeatAcrossBatchesIsRefused, with one unrelated row of the
// partner's file naming a mistyped organisation (refused by the server
// anyway): the repeat of row 0 in a later batch is still caught as
// DUPLICATE_IN_BATCH.
func TestPartnerRepeatWithOneMistypedOrganisation(t *testing.T) {
	s := newTestServer(t)
	c := partnerClient(t, s, "torry-food-bank")
	first := helpRequest("", "dup-1")
	first.Details = "first row"
	rows := []*pb.HelpRequest{first, helpRequest("tory-food-bank", "typo-1")}
	for i := range 500 {
		rows = append(rows, helpRequest("", fmt.Sprintf("filler-%d", i)))
	}
	again := helpRequest("torry-food-bank", "dup-1")
	again.Details = "corrected row, later in the file"
	rows = append(rows, again)
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	last := results[len(rows)-1]
	if last.GetError().GetReason() != client.ReasonDuplicateInBatch {
		t.Errorf("row %d repeats row 0 of the same organisation: existing=%v error=%v, want %s",
			len(rows)-1, last.GetExisting(), last.GetError(), client.ReasonDuplicateInBatch)
	}
}
