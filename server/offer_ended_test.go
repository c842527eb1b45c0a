package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOfferOfAnEndedRequest: between a request's deadline passing and the
// sweep marking it expired, it still reads OPEN. An offer of it then was
// refused as if the volunteer were busy ("they are not free then"), and
// the helpline tried one volunteer after another; it is refused for what
// it is, as its accept would be (REQUEST_ENDED).
func TestOfferOfAnEndedRequest(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(time.Hour))}
	}))
	clock.advance(time.Hour + time.Minute) // no sweep yet
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name})
	wantFailure(t, err, codes.FailedPrecondition, "REQUEST_ENDED")
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN || got.Offer != "" {
		t.Errorf("after the refused offer: %v %q", got.State, got.Offer)
	}
}
