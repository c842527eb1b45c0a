package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestWindowFarAheadRefused: a deadline more than 90 days away is refused,
// but a window (the same slip of the year, "12/03/2062 10:00-12:00") was
// taken: the request stays open for decades, is offered to volunteers, and,
// never closing, keeps the caller's data past any retention.
func TestWindowFarAheadRefused(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	far := clock.now().Add(36 * 365 * 24 * time.Hour)
	window := &pb.TimeWindow{StartTime: timestamppb.New(far), EndTime: timestamppb.New(far.Add(2 * time.Hour))}
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: window}
	})})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.window.start_time" {
		t.Errorf("create with a window 36 years ahead: %v", err)
	}
	hr := h.createHR(shopping())
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Timing: &pb.HelpRequest_Window{Window: window}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}},
	})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.window.start_time" {
		t.Errorf("update to a window 36 years ahead: %v", err)
	}
}
