package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
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
// requests name two streets, so the street-less one may be at either
// door: dispatch, as the store, sends nobody new to that postcode for the
// caller then (Bob is already going, and full), rather than risk a second
// volunteer at a door; a coordinator who knows the street writes it.
func TestDispatchSeesHeldStreetsForABlankOne(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	held := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Holburn Street" }))
	h.offer(held.Name, bob.Name)
	union := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Union St" }))
	blank := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "" }))
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 0 || resp.SameDoor != 2 {
		t.Errorf("dispatch: %v (%v), want both waiting at one door", resp, err)
	}
	// Once the street is written, Union St is a door of its own.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: blank.Name, Location: &pb.Location{Postcode: "AB10 1AB", Street: "Holburn Street"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := h.getHR(union.Name); got.State != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("Union St request is %v once the other's street is known", got.State)
	}
}

// TestBlankStreetBesideTwoHeldStreets: with two streets at one postcode,
// each held by a volunteer (a partner's office number), a request with
// the street left out may be at either door: an offer of it to a third
// volunteer is refused with SAME_DOOR, unless the coordinator allows a
// second volunteer.
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
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: blank.Name, Volunteer: cat.Name})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: blank.Name, Volunteer: cat.Name, AllowSecondVolunteer: true}); err != nil {
		t.Errorf("offer with allow_second_volunteer: %v", err)
	}
}
