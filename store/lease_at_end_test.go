package store

import (
	"errors"
	"testing"
	"time"
)

// TestCreateOfferAfterTheRequestEnded: a dispatch run plans its offers,
// then writes them; a request whose time ended in between (or a hand
// offer whose write waited behind others past it) was offered with the
// whole lease, as the lease is cut only by an end still to come: the
// volunteer was told to answer within 30 minutes a request whose accept
// was refused (REQUEST_ENDED) from the start, and their room was held
// until the sweep. An offer written at or after the request's end is
// refused, ErrRequestEnded, and nothing is held.
func TestCreateOfferAfterTheRequestEnded(t *testing.T) {
	for _, after := range []time.Duration{0, time.Second, time.Hour} {
		t.Run(after.String(), func(t *testing.T) {
			clock := newFakeClock()
			s, _ := newStore(t, WithClock(clock.now))
			hr := lcRequest(t, s)
			v := lcVolunteer(t, s, 1)
			end := hr.GetWindow().GetEndTime().AsTime()
			clock.mu.Lock()
			clock.t = end.Add(after - time.Second) // now() adds a second
			clock.mu.Unlock()
			res, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease, Dispatched: true})
			if !errors.Is(err, ErrRequestEnded) {
				t.Fatalf("an offer %v after the request's end: %v, answer by %v; want ErrRequestEnded",
					after, err, res.Offer.GetExpireTime().AsTime())
			}
			got, err := s.GetVolunteer(bg, idOf(v.Name))
			mustOK(t, err, "get volunteer")
			if got.PendingOffers != 0 {
				t.Errorf("pending offers %d, want 0", got.PendingOffers)
			}
		})
	}
}
