package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOrgWatchHearsOfItsVolunteersOffers: a coordinator of one group
// watches its organisation's events and keeps its volunteers' view by
// them. Matching does not stop at a group's edge, so another group's
// request can be offered to one of its volunteers: their pending offers
// and commitments change, and the group's stream must say so. A partner
// of the group watching its own organisation is not told of the other
// group's request.
func TestOrgWatchHearsOfItsVolunteersOffers(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Morag", "AB10 1AF", func(v *pb.Volunteer) { v.Organisation = "ferryhill-helpers" }))
	hr := h.createHR(shopping()) // aberdeen-mutual-aid's
	w := h.watch(h.ev, &pb.WatchEventsRequest{Organisation: "ferryhill-helpers"})
	partner := h.newToken(h.st, &pb.Token{DisplayName: "ferryhill intake", Role: pb.Role_ROLE_PARTNER, Organisation: "ferryhill-helpers"})
	pw := h.watch(pb.NewEventServiceClient(h.as(partner)), &pb.WatchEventsRequest{})
	// The request's own partner hears of its offers, but not which group
	// the volunteer is in.
	own := h.newToken(h.st, &pb.Token{DisplayName: "city intake", Role: pb.Role_ROLE_PARTNER, Organisation: "aberdeen-mutual-aid"})
	ow := h.watch(pb.NewEventServiceClient(h.as(own)), &pb.WatchEventsRequest{})
	w.waitFor(t, 0)
	pw.waitFor(t, 0)
	ow.waitFor(t, 0)
	o, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: vol.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Offer.Name}); err != nil {
		t.Fatal(err)
	}
	// An edit of the request changes the volunteer's commitment.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk only"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: hr.Name}); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, h.revision())
	pw.waitFor(t, h.revision())
	evs, _ := w.events()
	want := map[pb.Event_Type]bool{pb.Event_TYPE_OFFER_CREATED: true, pb.Event_TYPE_OFFER_ACCEPTED: true, pb.Event_TYPE_ASSIGNMENT_COMPLETED: true,
		pb.Event_TYPE_HELP_REQUEST_UPDATED: true, pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED: true}
	for _, e := range evs {
		if e.Volunteer != vol.Name || e.VolunteerOrganisation != "ferryhill-helpers" || e.Organisation != "aberdeen-mutual-aid" {
			t.Errorf("event %v", e)
		}
		delete(want, e.Type)
	}
	if len(want) > 0 {
		t.Errorf("the stream of the volunteer's organisation missed %v of %q", want, eventKeys(evs))
	}
	if evs, _ := pw.events(); len(evs) > 0 {
		t.Errorf("the partner's stream was told of another group's request: %q", eventKeys(evs))
	}
	ow.waitFor(t, h.revision())
	evs, _ = ow.events()
	if len(evs) == 0 {
		t.Error("the request's partner heard nothing")
	}
	for _, e := range evs {
		if e.VolunteerOrganisation != "" {
			t.Errorf("the request's partner was told the volunteer's group: %v", e)
		}
	}
}
