package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditCannotPutTwoVolunteersAtOneDoor: Ann holds a caller's
// shopping; Bob is offered the same caller's prescription, which the
// helpline first wrote down at another street. Correcting the street puts
// both at one door at meeting times: the edit's review withdraws Bob's
// offer (as it withdraws offers an edit makes impossible), so that two
// volunteers never knock at one door.
func TestEditCannotPutTwoVolunteersAtOneDoor(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	shop := h.createHR(shopping())
	pills := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}
		r.Location.Street = "Holburn Street"
	}))
	annOffer := h.offer(shop.Name, ann.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: annOffer.Name}); err != nil {
		t.Fatal(err)
	}
	bobOffer := h.offer(pills.Name, bob.Name) // another street: allowed
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: pills.Name, Location: &pb.Location{Postcode: "AB10 1AB", Street: "Union Street"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
	}); err != nil {
		t.Fatalf("correct the street: %v", err)
	}
	_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: bobOffer.Name})
	if err == nil && h.getHR(pills.Name).State == pb.HelpRequest_STATE_ASSIGNED && h.getHR(shop.Name).State == pb.HelpRequest_STATE_ASSIGNED {
		t.Errorf("Ann (%s) and Bob (%s) are both assigned to one caller's door at meeting times", h.getHR(shop.Name).AssignedVolunteer, h.getHR(pills.Name).AssignedVolunteer)
	}
}
