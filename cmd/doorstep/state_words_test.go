package main

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRequestStateWords: a request still in hand whose time is over says
// so, whatever its state: an assigned one so that staff ring the
// volunteer, and an open or offered one (left to the sweep, which marks
// it expired) so that staff do not promise the caller someone for a time
// already gone, as plain "open" let them.
func TestRequestStateWords(t *testing.T) {
	now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)
	window := func(st pb.HelpRequest_State, end time.Time) *pb.HelpRequest {
		return &pb.HelpRequest{State: st, Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{
			StartTime: timestamppb.New(end.Add(-time.Hour)), EndTime: timestamppb.New(end)}}}
	}
	for _, tt := range []struct {
		hr   *pb.HelpRequest
		want string
	}{
		{window(pb.HelpRequest_STATE_ASSIGNED, now.Add(-30*time.Minute)), "assigned, ended 11:30"},
		{window(pb.HelpRequest_STATE_OPEN, now.Add(-30*time.Minute)), "open, ended 11:30"},
		{window(pb.HelpRequest_STATE_OFFERED, now.Add(-30*time.Minute)), "offered, ended 11:30"},
		{window(pb.HelpRequest_STATE_OPEN, now.Add(time.Hour)), "open"},
		{window(pb.HelpRequest_STATE_FULFILLED, now.Add(-30*time.Minute)), "fulfilled"},
		{&pb.HelpRequest{State: pb.HelpRequest_STATE_OPEN, Timing: &pb.HelpRequest_Deadline{Deadline: timestamppb.New(now.Add(-time.Minute))}}, "open, ended 11:59"},
	} {
		if got := requestStateWords(tt.hr, now); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.hr.State, got, tt.want)
		}
	}
}
