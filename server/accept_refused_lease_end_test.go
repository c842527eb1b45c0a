package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// lapsedAfterRefusedAccept is a store that, once armed, has an accept
// refused in the store's own transaction (the volunteer's number made the
// caller's by an edit whose review has yet to run, as in
// TestOwnRequestJudgedInTheWrite), and then moves the clock past the
// offer's lease, as it runs out in the moment before the server withdraws
// the offer the refusal leaves.
type lapsedAfterRefusedAccept struct {
	store.Store
	t     *testing.T
	clock *testClock
	armed *bool
	vol   *string // the volunteer's id
	phone string  // the caller's number, as stored
}

func (l lapsedAfterRefusedAccept) AcceptOffer(ctx context.Context, id string, checks ...store.AcceptCheck) (store.LifecycleResult, error) {
	if !*l.armed {
		return l.Store.AcceptOffer(ctx, id, checks...)
	}
	*l.armed = false
	v, err := l.Store.GetVolunteer(ctx, *l.vol)
	if err != nil {
		l.t.Fatal(err)
	}
	v.Contact.Phone = l.phone
	if _, err := l.Store.UpdateVolunteer(ctx, v); err != nil {
		l.t.Fatal(err)
	}
	res, err := l.Store.AcceptOffer(ctx, id, checks...)
	l.clock.advance(time.Minute)
	return res, err
}

// TestAcceptRefusedAsTheLeaseEndsIsAnAnswer: a volunteer who had let two
// offers run out accepts a third a minute before its lease ends; the
// accept is refused in the write (an edit made the request their own),
// and by the time the server withdraws the offer the lease has run out.
// They answered within the lease: the offer is withdrawn for the rule, as
// any refused accept's is, and their answer ends the run of unanswered
// ones, as a decline's would. Lapsed instead, it was counted their third
// unanswered in a row and paused them, and the server withdrew the other
// offer they held.
func TestAcceptRefusedAsTheLeaseEndsIsAnAnswer(t *testing.T) {
	const landline, stored = "01224 123456", "+441224123456"
	clock := &testClock{t: time.Now()}
	h := newMetered(t, clock)
	armed := false
	var volID string
	h.wrap = func(st store.Store) store.Store {
		return lapsedAfterRefusedAccept{Store: st, t: t, clock: clock, armed: &armed, vol: &volID, phone: stored}
	}
	h.restart()
	ann := h.createVol(matchVolunteer("Ann Late", "AB10 1AB", phoned("07700 900555"), func(v *pb.Volunteer) { v.Capacity = 2 }))
	volID = strings.TrimPrefix(ann.Name, "volunteers/")
	for _, phone := range []string{"07700 900120", "07700 900121"} {
		h.offer(h.createHR(shopping(inTwoDays(clock), callerPhone(phone))).Name, ann.Name)
		clock.advance(server.DefaultLease + time.Minute)
		h.srv.Sweep(h.ctx)
	}
	if got := h.getVol(ann.Name); got.UnansweredOffers != 2 || got.Paused {
		t.Fatalf("after two lapses: unanswered %d, paused %v; want 2, false", got.UnansweredOffers, got.Paused)
	}
	third := h.offer(h.createHR(shopping(inTwoDays(clock), callerPhone(landline))).Name, ann.Name)
	clock.advance(10 * time.Minute)
	fourth := h.offer(h.createHR(shopping(inTwoDays(clock), callerPhone("07700 900123"))).Name, ann.Name)
	clock.advance(server.DefaultLease - 10*time.Minute - time.Minute) // a minute of the third's lease left

	armed = true
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: third.Name}); err == nil {
		t.Fatal("an accept of the volunteer's own request was taken")
	}
	if armed {
		t.Fatal("the accept never reached the store")
	}
	if o := h.getOffer(third.Name); o.State != pb.Offer_STATE_WITHDRAWN || o.WithdrawReason != "OWN_REQUEST" {
		t.Fatalf("the offer accepted within its lease is %v (%q), want WITHDRAWN (OWN_REQUEST): its volunteer answered", o.State, o.WithdrawReason)
	}
	got := h.getVol(ann.Name)
	if got.Paused || got.UnansweredOffers != 0 {
		t.Fatalf("a volunteer who answered in time is paused %v, with %d unanswered; want unpaused, 0", got.Paused, got.UnansweredOffers)
	}
	if o := h.getOffer(fourth.Name); o.State != pb.Offer_STATE_PENDING || got.PendingOffers != 1 {
		t.Errorf("their other offer is %v (%d pending), want it PENDING still", o.State, got.PendingOffers)
	}
	h.want("after the answer", map[string]float64{
		"doorstep_volunteers_paused_unanswered_total": 0,
		ended("expired", "hand"):                      2,
		ended("withdrawn", "hand"):                    1,
	})
}

// TestAcceptRefusedByTheReviewIsAnAnswer: an accept the server's review
// refuses before the store's write (here the volunteer's number became the
// caller's by a write no review saw) is an answer too, as one refused in
// the write is: README's "any accept or decline sets it back to 0". The
// review withdrew the offer and left the volunteer two lapses from a
// pause as before their answer.
func TestAcceptRefusedByTheReviewIsAnAnswer(t *testing.T) {
	const landline, stored = "01224 123456", "+441224123456"
	clock := &testClock{t: time.Now()}
	h := newMetered(t, clock)
	ann := h.createVol(matchVolunteer("Ann Late", "AB10 1AB", phoned("07700 900555"), func(v *pb.Volunteer) { v.Capacity = 2 }))
	for _, phone := range []string{"07700 900120", "07700 900121"} {
		h.offer(h.createHR(shopping(inTwoDays(clock), callerPhone(phone))).Name, ann.Name)
		clock.advance(server.DefaultLease + time.Minute)
		h.srv.Sweep(h.ctx)
	}
	third := h.offer(h.createHR(shopping(inTwoDays(clock), callerPhone(landline))).Name, ann.Name)
	v, err := h.st.GetVolunteer(h.ctx, strings.TrimPrefix(ann.Name, "volunteers/"))
	if err != nil {
		t.Fatal(err)
	}
	v.Contact.Phone = stored
	if _, err := h.st.UpdateVolunteer(h.ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: third.Name}); err == nil {
		t.Fatal("an accept of the volunteer's own request was taken")
	}
	if o := h.getOffer(third.Name); o.State != pb.Offer_STATE_WITHDRAWN || o.WithdrawReason != "OWN_REQUEST" {
		t.Fatalf("the offer is %v (%q), want WITHDRAWN (OWN_REQUEST)", o.State, o.WithdrawReason)
	}
	if got := h.getVol(ann.Name); got.UnansweredOffers != 0 || got.Paused {
		t.Errorf("a volunteer whose accept was refused has %d unanswered, paused %v; want 0, false: they answered", got.UnansweredOffers, got.Paused)
	}
}
