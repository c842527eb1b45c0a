package server_test

import (
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestBatchRowStoredWithTrunkZero: a partner's file gives a client's
// daughter's number as "+353 087 123 4567", which an older version stored
// as +3530871234567 and is stored today as +353871234567. Sent again
// tonight, unchanged at source, the row came back saying its
// requester.phone differed, as for a client's new number: the partner
// was told of a change nobody made.
func TestBatchRowStoredWithTrunkZero(t *testing.T) {
	h := newHarness(t)
	window := &pb.TimeWindow{StartTime: ts(time.Hour), EndTime: ts(5 * time.Hour)}
	row := bulkRow("daughter-abroad")
	row.Timing = &pb.HelpRequest_Window{Window: window}
	row.Requester.Phone = "+353 087 123 4567"
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{row}})
	if err != nil {
		t.Fatal(err)
	}
	legacyRequest(t, h, resp.Results[0].GetHelpRequest().GetName(), func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	again := bulkRow("daughter-abroad")
	again.Timing = &pb.HelpRequest_Window{Window: window}
	again.Requester.Phone = "+353 087 123 4567"
	resp, err = h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{again}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; !r.GetExisting() || len(r.GetDifferingFields()) != 0 {
		t.Errorf("the same row again: existing %v, differing %q; want existing, nothing differing", r.GetExisting(), r.GetDifferingFields())
	}
}
