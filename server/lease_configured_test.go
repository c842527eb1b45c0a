package server_test

import (
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestOfferLeaseAsConfigured: a rural group runs doorstepd with
// --offer-lease 2h, as its volunteers are out on farms with no signal
// for an hour at a time. Its offers, dispatched or made by hand without a
// lease of their own, run the two hours it set, not the default half
// hour: given 30 minutes, the volunteer who rings back at 40 finds the
// job gone and is counted as not answering.
func TestOfferLeaseAsConfigured(t *testing.T) {
	const lease = 2 * time.Hour
	clock := &testClock{t: time.Now().Truncate(time.Minute)}
	h := newHarnessWithClock(t, clock, server.WithLease(lease))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	check := func(how string, o *pb.Offer) {
		t.Helper()
		if got := o.GetExpireTime().AsTime().Sub(o.GetCreateTime().AsTime()); got != lease {
			t.Errorf("an offer %s runs %v, want the %v configured", how, got, lease)
		}
	}

	first := h.createHR(shopping())
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 1 {
		t.Fatalf("dispatch: %v, %v; want one offer", resp, err)
	}
	dispatched := h.getOffer(h.getHR(first.Name).Offer)
	check("dispatched", dispatched)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: dispatched.Name}); err != nil {
		t.Fatal(err)
	}

	second := h.createHR(shopping(callerPhone("01224 100001")))
	check("by hand", h.offer(second.Name, ann.Name))
}
