package server_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOfferResponsesAreTheOfferAsRead: an app puts the offer a write
// answers with into its view, as AIP-133 and -136 have it, and a
// volunteer's app shows it at once; it must be the offer GetOffer and
// ListOffers give, distance included. An offer without its distance says
// the request or the volunteer has been deleted.
func TestOfferResponsesAreTheOfferAsRead(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Morag", "AB10 1AF"))
	other := h.createVol(matchVolunteer("Ewan", "AB10 1AG", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
	hr := h.createHR(shopping())
	same := func(what string, got *pb.Offer) {
		t.Helper()
		want, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: got.Name})
		if err != nil {
			t.Fatal(err)
		}
		if want.Offer.DistanceMetres == nil {
			t.Fatalf("%s: GetOffer gives no distance", what)
		}
		if !proto.Equal(got, want.Offer) {
			t.Errorf("%s answers\n%v\nGetOffer gives\n%v", what, got, want.Offer)
		}
	}
	const rid = "0b7e2a52-3c1d-4f0e-9a51-6a7d2b9c4e10"
	made, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: vol.Name, RequestId: rid})
	if err != nil {
		t.Fatal(err)
	}
	same("CreateOffer", made.Offer)
	again, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: vol.Name, RequestId: rid})
	if err != nil {
		t.Fatal(err)
	}
	same("CreateOffer retried", again.Offer)
	declined, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: made.Offer.Name})
	if err != nil {
		t.Fatal(err)
	}
	same("DeclineOffer", declined.Offer)
	made, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: other.Name})
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: made.Offer.Name})
	if err != nil {
		t.Fatal(err)
	}
	same("AcceptOffer", accepted.Offer)
}
