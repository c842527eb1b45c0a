package server_test

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestVolunteerCannotProbeTheCallersNumber: an offer waiting for a
// volunteer shows the request's street and needs, never the caller's
// number. An edit that makes the volunteer's number the caller's withdraws
// the offer (OWN_REQUEST), so a volunteer who changed their own number to
// a guess and read the offer again learned whether the guess was the
// caller's: a wrong one left the offer waiting, and cost nothing, so they
// could go on guessing. With offers waiting, their own token may not
// change their number at all, whatever it is changed to; staff may (they
// see callers' numbers anyway), and the volunteer may once the offers are
// answered.
func TestVolunteerCannotProbeTheCallersNumber(t *testing.T) {
	const landline = "01224 123456" // the caller's
	phoneEdit := func(name, phone string) *pb.UpdateVolunteerRequest {
		return &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: name, Contact: &pb.Contact{Phone: phone}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.phone"}},
		}
	}
	outcomes := map[string]string{}
	for _, tc := range []struct {
		name       string
		offered    bool // an offer of the caller's request is waiting for them
		edit       func(vol string) *pb.UpdateVolunteerRequest
		wantReason string // "" for an edit that stands
	}{
		{name: "right guess", offered: true, edit: func(vol string) *pb.UpdateVolunteerRequest { return phoneEdit(vol, landline) }, wantReason: server.ReasonOffersWaiting},
		{name: "wrong guess", offered: true, edit: func(vol string) *pb.UpdateVolunteerRequest { return phoneEdit(vol, "01224 654321") }, wantReason: server.ReasonOffersWaiting},
		{name: "no offer waiting", edit: func(vol string) *pb.UpdateVolunteerRequest { return phoneEdit(vol, "07700 900777") }},
		{name: "same number written another way", offered: true, edit: func(vol string) *pb.UpdateVolunteerRequest { return phoneEdit(vol, "+447700900555") }},
		{name: "another field", offered: true, edit: func(vol string) *pb.UpdateVolunteerRequest {
			return &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: vol, Contact: &pb.Contact{DisplayName: "Maggie"}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.display_name"}},
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			self := h.createVol(matchVolunteer("Margaret", "AB10 1AB", phoned("07700 900555")))
			hr := h.createHR(shopping(callerPhone(landline)))
			conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "margaret", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: self.Name}))
			ownVol, ownMatch := pb.NewVolunteerServiceClient(conn), pb.NewMatchingServiceClient(conn)
			var offer *pb.Offer
			if tc.offered {
				offer = h.offer(hr.Name, self.Name)
			}
			_, err := ownVol.UpdateVolunteer(h.ctx, tc.edit(self.Name))
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("edit refused: %v", err)
				}
				return
			}
			wantFailure(t, err, codes.FailedPrecondition, tc.wantReason)
			// All she can read for herself is as it was.
			got, gerr := ownMatch.GetOffer(h.ctx, &pb.GetOfferRequest{Name: offer.Name})
			if gerr != nil {
				t.Fatal(gerr)
			}
			me, gerr := ownVol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: "volunteers/me"})
			if gerr != nil {
				t.Fatal(gerr)
			}
			if got.Offer.State != pb.Offer_STATE_PENDING || me.Volunteer.PendingOffers != 1 || me.Volunteer.Contact.Phone != "+447700900555" {
				t.Errorf("after the refused edit: offer %v (%q), %d pending, phone %s; want it waiting and her number unchanged",
					got.Offer.State, got.Offer.WithdrawReason, me.Volunteer.PendingOffers, me.Volunteer.Contact.Phone)
			}
			outcomes[tc.name] = fmt.Sprintf("%v; offer %v %q", err, got.Offer.State, got.Offer.WithdrawReason)
		})
	}
	if right, wrong := outcomes["right guess"], outcomes["wrong guess"]; right != wrong {
		t.Errorf("a right guess of the caller's number reads\n%s\nand a wrong one\n%s\nwant the same", right, wrong)
	}

	// Staff keep the edit: the coordinator puts her landline right, and
	// the offer of her own request is withdrawn.
	h := newHarness(t)
	self := h.createVol(matchVolunteer("Margaret", "AB10 1AB", phoned("07700 900555")))
	hr := h.createHR(shopping(callerPhone(landline)))
	offer := h.offer(hr.Name, self.Name)
	if _, err := h.vol.UpdateVolunteer(h.ctx, phoneEdit(self.Name, landline)); err != nil {
		t.Fatalf("a coordinator's edit: %v", err)
	}
	got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: offer.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got.Offer.State != pb.Offer_STATE_WITHDRAWN {
		t.Errorf("after a coordinator's edit the offer is %v, want withdrawn", got.Offer.State)
	}
}
