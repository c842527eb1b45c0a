package store

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
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

// TestCreateOffersSkipsARequestThatEnded: a dispatch run's batch in which
// one request's time ended between the plan and the write failed whole,
// so the run's other offers were never made and Dispatch answered
// FAILED_PRECONDITION for one request nobody could help any more. That
// request is refused on its own, ErrRequestEnded, and the rest are made.
func TestCreateOffersSkipsARequestThatEnded(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	ended := lcRequest(t, s)
	later := newHelpRequest("org-a", "", "AB10 1AB", "+447700900777")
	later.GetWindow().EndTime = timestamppb.New(later.GetWindow().GetEndTime().AsTime().Add(24 * time.Hour))
	later, err := s.CreateHelpRequest(bg, later, Idempotency{})
	mustOK(t, err, "create help request")
	v := lcVolunteer(t, s, 2)
	clock.mu.Lock()
	clock.t = ended.GetWindow().GetEndTime().AsTime()
	clock.mu.Unlock()
	res, errs, err := s.CreateOffers(bg, []OfferParams{
		{HelpRequestID: idOf(ended.Name), VolunteerID: idOf(v.Name), Lease: lcLease, Dispatched: true},
		{HelpRequestID: idOf(later.Name), VolunteerID: idOf(v.Name), Lease: lcLease, Dispatched: true},
	})
	mustOK(t, err, "create offers")
	if !errors.Is(errs[0], ErrRequestEnded) {
		t.Errorf("the ended request's offer: %v, want ErrRequestEnded", errs[0])
	}
	if errs[1] != nil || res[1].Offer == nil {
		t.Fatalf("the other request's offer: %v, want it made", errs[1])
	}
	got, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if got.PendingOffers != 1 {
		t.Errorf("pending offers %d, want 1", got.PendingOffers)
	}
}
