package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestUpdateKeepsAPassedWindow: once an assigned request's window or
// deadline has passed (the visit happened, nobody has marked it done yet),
// an app that reads the request, changes its details and writes it all
// back, without a mask or with "*", sends the same window: that is no new
// time, and must not be refused as one in the past. A window moved into
// the past still is.
func TestUpdateKeepsAPassedWindow(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB", func(v *pb.Volunteer) { v.Capacity = 2 }))
	window := h.createHR(shopping(callerPhone("01224 000001")))
	deadline := h.createHR(shopping(callerPhone("01224 000002"), func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(2 * time.Hour))}
	}))
	for _, hr := range []*pb.HelpRequest{window, deadline} {
		o := h.offer(hr.Name, ann.Name)
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
			t.Fatal(err)
		}
	}
	clock.advance(6 * time.Hour) // both have passed; both still ASSIGNED
	for _, name := range []string{window.Name, deadline.Name} {
		for _, mask := range []*fieldmaskpb.FieldMask{nil, {Paths: []string{"*"}}} {
			cur := h.getHR(name)
			cur.Details = "Shopping done; prescription not ready, Ann goes back tomorrow"
			resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: cur, UpdateMask: mask})
			if err != nil {
				t.Errorf("%s, mask %v: a read-modify-write that keeps the passed timing is refused: %v", name, mask.GetPaths(), err)
				continue
			}
			if resp.HelpRequest.Details != cur.Details || resp.HelpRequest.State != pb.HelpRequest_STATE_ASSIGNED {
				t.Errorf("%s: after the update: %q, %v", name, resp.HelpRequest.Details, resp.HelpRequest.State)
			}
		}
	}
	// Moving the window still must land ahead of now.
	cur := h.getHR(window.Name)
	cur.GetWindow().EndTime = timestamppb.New(clock.now().Add(-time.Minute))
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: cur})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.window.end_time" {
		t.Errorf("a window moved into the past: %v", err)
	}
}
