package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPartnerRepeatAcrossBatchesIsRefused: a row repeating an earlier
// row's organisation and external_id fails with DUPLICATE_IN_BATCH in
// whichever batch it falls, never reported as existing with its own
// details silently dropped, even when one of the two leaves the
// organisation empty (a partner's own) and the other names it.
//
// One unrelated row naming a mistyped organisation (refused by the server
// anyway) changes nothing.
func TestPartnerRepeatAcrossBatchesIsRefused(t *testing.T) {
	for _, extra := range [][]*pb.HelpRequest{nil, {helpRequest("tory-food-bank", "typo-1")}} {
		s := newTestServer(t)
		c := partnerClient(t, s, "torry-food-bank")
		first := helpRequest("", "dup-1")
		first.Details = "first row"
		rows := append([]*pb.HelpRequest{first}, extra...)
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
			t.Errorf("with %d other rows: row %d repeats row 0 of the same organisation: existing=%v error=%v, want %s",
				len(extra), len(rows)-1, last.GetExisting(), last.GetError(), client.ReasonDuplicateInBatch)
		}
	}
}
