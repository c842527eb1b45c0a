package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAcceptByVolunteerAlreadyComing: Ann and Bob are both going to a
// caller's door (Bob's offer made with allow_second_volunteer). A third
// request of the caller's, at that door then, offered to Ann, stands and
// can be accepted: it sends nobody new.
func TestAcceptByVolunteerAlreadyComing(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	shop := h.createHR(shopping())
	pills := h.createHR(shopping(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION} }))
	third := h.createHR(shopping(func(r *pb.HelpRequest) { r.Details = "Post a letter" }))
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(shop.Name, ann.Name).Name}); err != nil {
		t.Fatal(err)
	}
	r, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: pills.Name, Volunteer: bob.Name, AllowSecondVolunteer: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: r.Offer.Name}); err != nil {
		t.Fatal(err)
	}
	o := h.offer(third.Name, ann.Name) // Ann is coming: allowed
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
		t.Errorf("Ann, already going to the door, cannot accept the caller's third request: %v (request now %v)", err, h.getHR(third.Name).State)
	}
}

// TestDispatchAndStoreAgreeOnABlankStreet: one caller, three requests at
// meeting times at one postcode: "Union St", "Holburn Street", and one
// with the street left out. The caller gave two streets, so the blank one
// is at neither door for certain: dispatch and the store agree, and every
// offer dispatch plans is made.
func TestDispatchAndStoreAgreeOnABlankStreet(t *testing.T) {
	h := newHarness(t)
	for i, pc := range []string{"AB10 1AB", "AB10 1AF", "AB11 5QN"} {
		h.createVol(matchVolunteer("V "+pc, pc, phoned("07700 90033"+string(rune('0'+i)))))
	}
	h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Union St" }))
	h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Holburn Street" }))
	h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "" }))
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Outnumbered != 0 || resp.OffersMade+resp.SameDoor != 3 {
		t.Errorf("dispatch planned an offer the store refused: %v", resp)
	}
}

// TestDispatchSeesHeldStreetsForABlankOne: the caller's "Holburn Street"
// request is offered to Bob (now full); two more of theirs are open at
// meeting times, "Union St" and one with no street. The caller's live
// requests name two streets, so the blank one is at neither for certain,
// and the Union St request goes to Ann rather than wait for Bob.
func TestDispatchSeesHeldStreetsForABlankOne(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	held := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Holburn Street" }))
	h.offer(held.Name, bob.Name)
	union := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Union St" }))
	h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "" }))
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.getHR(union.Name); got.State != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("Union St request is %v after dispatch (%v)", got.State, resp)
		// The store would take Ann for it.
		if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: union.Name, Volunteer: ann.Name}); err != nil {
			t.Errorf("and the store refuses Ann too: %v", err)
		}
	}
}

// TestBlankStreetBesideTwoHeldStreets: README: "a street left out is taken
// as the caller's one street there". With two streets at one postcode each
// held by a volunteer (a partner's office number), a request with the
// street left out is at neither door, and may go to a third volunteer.
func TestBlankStreetBesideTwoHeldStreets(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	cat := h.createVol(matchVolunteer("Cat", "AB11 5QN", phoned("07700 900333")))
	union := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Union St" }))
	holburn := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Holburn Street" }))
	blank := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "" }))
	h.offer(union.Name, ann.Name)
	h.offer(holburn.Name, bob.Name) // another street: allowed
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: blank.Name, Volunteer: cat.Name}); err != nil {
		t.Errorf("offer of the street-less request to a third volunteer: %v", err)
	}
}
