package server_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestWithdrawnOfferSaysWhy: a volunteer's app showed "withdrawn" and could
// not say whether the caller cancelled or the time passed. The offer keeps
// why (the rules broken by an edit: TestEditWithdrawsOffersItMakesImpossible).
func TestWithdrawnOfferSaysWhy(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 2 }))
	cancelled := h.createHR(shopping(callerPhone("01224 000001")))
	ended := h.createHR(shopping(callerPhone("01224 000002"), func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(20 * time.Minute))}
	}))
	oc, oe := h.offer(cancelled.Name, ann.Name), h.offer(ended.Name, ann.Name)
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: cancelled.Name}); err != nil {
		t.Fatal(err)
	}
	clock.advance(25 * time.Minute) // past the deadline, within the 30-minute lease
	h.srv.Sweep(h.ctx)
	for name, want := range map[string]string{oc.Name: "REQUEST_CANCELLED", oe.Name: "REQUEST_ENDED"} {
		got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if got.Offer.State != pb.Offer_STATE_WITHDRAWN || got.Offer.WithdrawReason != want {
			t.Errorf("%s: %v, withdraw_reason %q; want WITHDRAWN, %q", name, got.Offer.State, got.Offer.WithdrawReason, want)
		}
	}
}
