package server_test

import (
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestClockAheadOfferLapses: an offer made while the server's clock ran
// ahead has a lease that ends that far ahead of the real time. Once the
// clock is put right, the offer must not hold the request, and the
// volunteer's room, for the step and more: a person waits for help that
// no one is asked to bring.
func TestClockAheadOfferLapses(t *testing.T) {
	for _, tc := range clockSteps {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			tc.move(h, clock, tc.step)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			hr := h.createHR(shopping(inTwoDays(clock)))
			o := h.offer(hr.Name, ann.Name)
			tc.move(h, clock, -tc.step)     // NTP puts it right
			clock.advance(31 * time.Minute) // the lease, by the real time
			h.srv.Sweep(h.ctx)
			got := h.getOffer(o.Name)
			if got.State == pb.Offer_STATE_PENDING {
				t.Fatalf("an offer made 31 minutes ago, the clock running ahead %s, is still pending, until %s",
					tc.name, got.ExpireTime.AsTime().Format(time.RFC3339))
			}
			if got.State != pb.Offer_STATE_WITHDRAWN || got.WithdrawReason != "CLOCK_SET_BACK" {
				t.Errorf("offer %v, withdraw_reason %q; want WITHDRAWN, CLOCK_SET_BACK", got.State, got.WithdrawReason)
			}
			// Ann did not let it lapse: she may be asked again, with a
			// lease by the clock as it now reads.
			again := h.offer(hr.Name, ann.Name)
			if left := again.ExpireTime.AsTime().Sub(clock.now()); left > 30*time.Minute {
				t.Errorf("the new offer's lease ends in %v, want 30m", left)
			}
		})
	}
}

// TestClockAheadWithdrawalsLoggedApart: the sweep's log line is what the
// operator reads after a clock step. Offers it withdrew as made ahead of
// the clock must not be counted as lapsed, which says that volunteers let
// them run out unanswered: they are counted apart, under their reason.
func TestClockAheadWithdrawalsLoggedApart(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	clock.advance(time.Hour)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping(inTwoDays(clock)))
	h.offer(hr.Name, ann.Name)
	clock.advance(-time.Hour) // NTP puts it right
	h.srv.Sweep(h.ctx)
	swept := h.logs.FilterMessage("swept").All()
	if len(swept) != 1 {
		t.Fatalf("%d sweep lines logged, want 1: %v", len(swept), h.logs.All())
	}
	got := swept[0].ContextMap()
	if got["offers_lapsed"] != int64(0) || got["offers_withdrawn_clock_set_back"] != int64(1) {
		t.Errorf("sweep logged %v; want offers_lapsed 0, offers_withdrawn_clock_set_back 1", got)
	}
}

// TestClockPutBackMinutesKeepsOffers: a VM resumed a few minutes fast, and
// NTP stepped it back, while a dispatch round's offers waited for their
// volunteers. Withdrawn as made ahead of the clock, the whole round would
// be taken back as the volunteers answered it; the few minutes the leases
// run over are the lesser harm. An offer counts as made ahead only past
// ten minutes.
func TestClockPutBackMinutesKeepsOffers(t *testing.T) {
	for _, tc := range []struct {
		step time.Duration
		want pb.Offer_State
	}{
		{5 * time.Minute, pb.Offer_STATE_PENDING},
		{9 * time.Minute, pb.Offer_STATE_PENDING},
		{11 * time.Minute, pb.Offer_STATE_WITHDRAWN},
	} {
		t.Run(tc.step.String(), func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			clock.advance(tc.step)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			hr := h.createHR(shopping(inTwoDays(clock)))
			o := h.offer(hr.Name, ann.Name)
			clock.advance(-tc.step) // NTP puts it right
			h.srv.Sweep(h.ctx)
			if got := h.getOffer(o.Name); got.State != tc.want {
				t.Errorf("an offer made with the clock %v fast is %v after the sweep, want %v", tc.step, got.State, tc.want)
			}
		})
	}
}
