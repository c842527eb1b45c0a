package server_test

import (
	"context"
	"sync/atomic"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// firstOfferLate is a store in which the first CreateOffer waits, before
// its write, until the repeat of the same call has looked for the offer
// its request_id made, and the repeat then waits until that first offer
// has committed: a repeat sent while its first attempt was still at work
// (a client whose deadline passed, a proxy that dropped the reply).
type firstOfferLate struct {
	store.Store
	lookups   atomic.Int32
	parked    chan struct{} // closed once the first offer waits
	release   chan struct{} // closed to let it write
	committed chan struct{} // closed once it has written
}

func (f *firstOfferLate) CreateOffer(ctx context.Context, p store.OfferParams) (store.LifecycleResult, error) {
	close(f.parked)
	<-f.release
	defer close(f.committed)
	return f.Store.CreateOffer(ctx, p)
}

func (f *firstOfferLate) OfferByRequestID(ctx context.Context, idem store.Idempotency) (*pb.Offer, error) {
	o, err := f.Store.OfferByRequestID(ctx, idem)
	if f.lookups.Add(1) == 2 { // the repeat's
		close(f.release)
		<-f.committed
	}
	return o, err
}

// TestCreateOfferRepeatRacingItsFirstAttempt: a repeat with the same
// request_id that arrives while the first attempt is still being written
// is answered with the offer that attempt made, as any later repeat is,
// not with a refusal of the request as no longer open.
func TestCreateOfferRepeatRacingItsFirstAttempt(t *testing.T) {
	h := newHarness(t)
	late := &firstOfferLate{parked: make(chan struct{}), release: make(chan struct{}), committed: make(chan struct{})}
	h.wrap = func(st store.Store) store.Store { late.Store = st; return late }
	h.reopen()
	ann := h.createVol(matchVolunteer("Ann", "AB11 5QN"))
	hr := h.createHR(shopping())
	req := &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name, RequestId: "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"}

	type answer struct {
		resp *pb.CreateOfferResponse
		err  error
	}
	first := make(chan answer, 1)
	go func() {
		resp, err := h.match.CreateOffer(h.ctx, req)
		first <- answer{resp, err}
	}()
	<-late.parked
	again, err := h.match.CreateOffer(h.ctx, req)
	got := <-first
	if got.err != nil {
		t.Fatalf("first attempt: %v", got.err)
	}
	if err != nil {
		t.Fatalf("repeat: %v; want the offer the first attempt made, %s", err, got.resp.GetOffer().GetName())
	}
	if again.GetOffer().GetName() != got.resp.GetOffer().GetName() {
		t.Errorf("repeat answered %s, first attempt made %s", again.GetOffer().GetName(), got.resp.GetOffer().GetName())
	}
	if v := h.getVol(ann.Name); v.PendingOffers != 1 {
		t.Errorf("Ann holds %d offers, want 1", v.PendingOffers)
	}
}
