package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestClosedRequestKeepsItsTime: a request that expired (or was cancelled
// or fulfilled) is never matched again. A helpline worker who gives it a
// new time, to help the caller after all, must be told so and change
// nothing, not be answered with the request, still expired, as if it had
// been booked again.
func TestClosedRequestKeepsItsTime(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	expired := h.createHR(shopping(callerPhone("01224 000001"), func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(time.Hour))}
	}))
	cancelled := h.createHR(shopping(callerPhone("01224 000002")))
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: cancelled.Name}); err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Hour)
	h.srv.Sweep(h.ctx)
	if st := h.getHR(expired.Name).State; st != pb.HelpRequest_STATE_EXPIRED {
		t.Fatalf("past its deadline and swept: %v", st)
	}
	tomorrow := &pb.TimeWindow{StartTime: timestamppb.New(clock.now().Add(24 * time.Hour)), EndTime: timestamppb.New(clock.now().Add(26 * time.Hour))}
	for _, name := range []string{expired.Name, cancelled.Name} {
		before := h.getHR(name)
		for _, in := range []*pb.UpdateHelpRequestRequest{
			{HelpRequest: &pb.HelpRequest{Name: name, Timing: &pb.HelpRequest_Window{Window: tomorrow}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}},
			{HelpRequest: &pb.HelpRequest{Name: name, Timing: &pb.HelpRequest_Deadline{Deadline: tomorrow.EndTime}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deadline"}}},
		} {
			resp, err := h.hr.UpdateHelpRequest(h.ctx, in)
			if err == nil {
				t.Errorf("%s (%v): a new time for a closed request is taken, and it stays %v", name, in.UpdateMask.Paths, resp.HelpRequest.State)
				continue
			}
			wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
		}
		if after := h.getHR(name); !proto.Equal(after, before) {
			t.Errorf("%s changed by refused updates:\n%v\nwas\n%v", name, after, before)
		}
		// What happened may still be written down.
		if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: name, Details: "Her daughter came instead"},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
		}); err != nil {
			t.Errorf("%s: the details of a closed request: %v", name, err)
		}
	}
}
