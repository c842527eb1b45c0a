package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestSameDoorRefusalStreetWrittenTwoWays: one caller, two requests at
// meeting times, the street written two ways: an offer by hand to a second
// volunteer is refused with SAME_DOOR, as it is when the street is written
// the same way both times (TestOfferByHandOneVolunteerPerDoor).
func TestSameDoorRefusalStreetWrittenTwoWays(t *testing.T) {
	for _, tc := range []struct{ first, second string }{
		{"St Machar Dr", "Saint Machar Drive"},
		{"Union St", "12 Union St"}, // the house number in the street field
		{"Union St", ""},            // the street left out the second time
	} {
		t.Run(tc.first+"|"+tc.second, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 2 }))
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
			shop := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = tc.first }))
			pills := h.createHR(shopping(func(r *pb.HelpRequest) {
				r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}
				r.Location.Street = tc.second
			}))
			h.offer(shop.Name, ann.Name)
			_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: pills.Name, Volunteer: bob.Name})
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
		})
	}
}

// "Flat 2, 12 Union St" typed into the street field goes to the address
// lines: a volunteer who has only been offered the request sees the
// street, never the house (README, volunteerView).
func TestVolunteerDoesNotSeeHouseNumberTypedInStreet(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Location.Street = "Flat 2, 12 Union St"
		r.Location.AddressLines = nil
	}))
	h.offer(hr.Name, v.Name)
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "v", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: v.Name}))
	got, err := pb.NewHelpRequestServiceClient(conn).GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.HelpRequest.GetLocation().GetStreet(); strings.ContainsAny(s, "0123456789") || strings.Contains(strings.ToLower(s), "flat") {
		t.Errorf("an offered volunteer sees the street as %q: the flat and house number before accepting", s)
	}
}

// Listing by sector "AB1 0" (a sector of the old AB1 district, with its
// space) must not list district AB10's requests.
func TestListBySectorWithSpace(t *testing.T) {
	h := newHarness(t)
	h.createHR(shopping()) // AB10 1AB
	resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{Postcode: "AB1 0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.HelpRequests {
		t.Errorf("sector AB1 0 lists a request at %s", r.GetLocation().GetPostcode())
	}
}

// Erasure removes the address lines and keeps the street for statistics:
// a house number typed into the street field went to the address lines,
// so the erased record says no house.
func TestErasureLeavesNoHouseNumberInStreet(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(shopping(callerPhone("07700 900777"), func(r *pb.HelpRequest) {
		r.Location.Street = "Flat 2, 12 Union St"
		r.Location.AddressLines = nil
	}))
	if _, err := pb.NewAdminServiceClient(h.conn).ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"}); err != nil {
		t.Fatal(err)
	}
	got := h.getHR(hr.Name)
	if s := got.GetLocation().GetStreet(); strings.ContainsAny(s, "0123456789") {
		t.Errorf("after erasure the request's street is %q: the house is still on record", s)
	}
}
