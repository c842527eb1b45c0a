package server_test

import (
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestLapsedOfferAccompaniesNobody: a lapsed offer, the sweep not yet
// come, sends nobody to the door, in matching as in the store:
// FindCandidates names no volunteer coming, and dispatch offers the
// caller's other request to whoever can take it.
func TestLapsedOfferAccompaniesNobody(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	shop := h.createHR(shopping())
	pills := h.createHR(shopping(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION} }))
	h.offer(shop.Name, bob.Name)
	clock.advance(31 * time.Minute) // Bob's lease passes; no sweep yet
	fc, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: pills.Name})
	if err != nil {
		t.Fatal(err)
	}
	if fc.VolunteerComing != "" {
		t.Errorf("FindCandidates names %s as coming; their offer lapsed", fc.VolunteerComing)
	}
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.getHR(pills.Name); got.State != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("after dispatch the request is %v (%v): it waits for a volunteer whose offer lapsed", got.State, resp)
	}
}
