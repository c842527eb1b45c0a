package server_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestRetentionCountsFromClose: --personal-data-retention is "how long
// after a request closes" its personal data is kept; an edit of a closed
// request (here only its urgency) restarted the count, since the purge
// takes update_time as the closing time.
func TestRetentionCountsFromClose(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(48*time.Hour))
	closed := h.createHR(shopping())
	// Output only: a create's close_time is not taken.
	if made := h.createHR(shopping(func(r *pb.HelpRequest) { r.CloseTime = timestamppb.Now() })); made.CloseTime != nil {
		t.Errorf("a create took close_time %v", made.CloseTime)
	}
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: closed.Name}); err != nil {
		t.Fatal(err)
	}
	closeTime := h.getHR(closed.Name).GetCloseTime()
	if closeTime == nil {
		t.Fatal("a cancelled request has no close_time")
	}
	clock.advance(47 * time.Hour)
	edited, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: closed.Name, Urgency: pb.Urgency_URGENCY_LOW, CloseTime: timestamppb.Now()},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"urgency"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(edited.HelpRequest.CloseTime, closeTime) {
		t.Errorf("an edit moved close_time from %v to %v", closeTime, edited.HelpRequest.CloseTime)
	}
	clock.advance(3 * time.Hour)
	h.srv.Sweep(h.ctx)
	if got := h.getHR(closed.Name); got.GetRequester().GetPhone() != "" {
		t.Errorf("closed 50h ago with a 48h retention, edited 3h ago: personal data still held")
	}
}
