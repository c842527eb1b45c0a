package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAcceptAfterAnEditEndedTheRequestFirst: Ann is offered the shopping
// at 16:00 with the usual 30-minute lease, to 16:30. The caller rings
// back: they need it by 16:20 now, and a coordinator edits the request so;
// Ann's offer stands, as she is still free then. She answers at 16:25,
// inside her lease but after the request's time has run out, and before
// any sweep: refused as too late (REQUEST_ENDED), as she would be had the
// lease been cut to 16:20; not told that she, free all day, is "not free
// then", and not handed a job for a time gone by. The lease was cut only
// when the offer was made; the edit leaves it running past the request's
// new end, so the accept must judge the request's own time first.
func TestAcceptAfterAnEditEndedTheRequestFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		edit func(start time.Time) *pb.HelpRequest
	}{
		{"window", "window", func(start time.Time) *pb.HelpRequest {
			return &pb.HelpRequest{Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{
				StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(20 * time.Minute))}}}
		}},
		{"deadline", "deadline", func(start time.Time) *pb.HelpRequest {
			return &pb.HelpRequest{Timing: &pb.HelpRequest_Deadline{Deadline: timestamppb.New(start.Add(20 * time.Minute))}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now().Truncate(time.Minute)}
			h := newHarnessWithClock(t, clock)
			start := clock.now() // 16:00
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			hr := h.createHR(shopping(func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(4 * time.Hour))}}
			}))
			o := h.offer(hr.Name, ann.Name)
			if got := o.ExpireTime.AsTime().Sub(start); got != 30*time.Minute {
				t.Fatalf("the offer runs %v, want 30m", got)
			}

			edit := tc.edit(start)
			edit.Name = hr.Name
			if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{tc.path}}}); err != nil {
				t.Fatalf("needed by 16:20: %v", err)
			}
			if got := h.getOffer(o.Name); got.State != pb.Offer_STATE_PENDING {
				t.Fatalf("after the edit the offer is %v, want it still PENDING (Ann is free then)", got.State)
			}

			clock.advance(25 * time.Minute) // 16:25: the lease runs, the request's time does not
			_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
			wantFailure(t, err, codes.FailedPrecondition, "REQUEST_ENDED")
			if r := h.getHR(hr.Name); r.State == pb.HelpRequest_STATE_ASSIGNED {
				t.Errorf("the request is ASSIGNED to %s for a time that ended at 16:20", r.AssignedVolunteer)
			}
			if v := h.getVol(ann.Name); v.ActiveAssignments != 0 {
				t.Errorf("Ann holds %d assignments, want 0", v.ActiveAssignments)
			}
		})
	}
}
