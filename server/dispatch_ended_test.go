package server_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDispatchLeavesEndedRequestsOut: a request whose deadline had
// passed, still open until the sweep, was counted by a dispatch run as
// one nobody in reach could take, and the coordinator read that more
// volunteers were needed there (and that request candidates says why,
// which refuses it as ended), with two free next door. It is not open for
// an offer (CreateOffer and FindCandidates refuse it as ended), and a run
// leaves it out, as the sweep will mark it expired.
func TestDispatchLeavesEndedRequestsOut(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	h.createVol(matchVolunteer("Bea", "AB10 1AF"))
	h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(time.Hour))}
	}))
	later := h.createHR(shopping(callerPhone("01224 654321"), func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(3 * time.Hour))}
	}))
	clock.advance(time.Hour + time.Minute) // the first has ended; no sweep yet
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OpenRequests != 1 || resp.OffersMade != 1 || resp.Uncovered != 0 || resp.WithoutCandidates != 0 {
		t.Errorf("dispatch: %d open, %d offers, %d uncovered, %d without candidates; want the one still to come, offered",
			resp.OpenRequests, resp.OffersMade, resp.Uncovered, resp.WithoutCandidates)
	}
	if got := h.getHR(later.Name).State; got != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("the request still to come is %v, want offered", got)
	}
}
