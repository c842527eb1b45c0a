package server_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTenementFlatAndHouseNumberLeaveTheStreet: README: a house number or
// flat typed into the street is moved to the address lines, "so the street
// never names the house", a Scottish tenement flat ("2/1") before the
// house number included.
func TestTenementFlatAndHouseNumberLeaveTheStreet(t *testing.T) {
	h := newHarness(t)
	for _, typed := range []string{"2/1 45 Main St", "Flat 2 12 Union St", "12a, 14 Union St"} {
		hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = typed; r.Location.AddressLines = nil }))
		if s := hr.GetLocation().GetStreet(); strings.ContainsAny(s, "0123456789") {
			t.Errorf("street typed %q is stored as %q (address_lines %q): the street names the house", typed, s, hr.GetLocation().GetAddressLines())
		}
	}
}

// TestHouseInStreetWithFullAddressLines: a request with the four address
// lines allowed and a house number in the street is accepted: the number
// joins the first line rather than make a fifth.
func TestHouseInStreetWithFullAddressLines(t *testing.T) {
	h := newHarness(t)
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
		r.Location.Street = "12 Union St"
		r.Location.AddressLines = []string{"Ground floor", "Rear door", "Ring twice", "Key safe by the gate"}
	})})
	if err != nil {
		t.Errorf("a request with 4 address lines and a house number in the street is refused: %v", err)
	}
}

// TestUpdateLeavesAnUntouchedStreet: only a street an update sets is split;
// an update that does not touch the location (here, of details) leaves a
// stored street and its full address lines as they are.
func TestUpdateLeavesAnUntouchedStreet(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Location.Street = "2/1 45 Main St"
		r.Location.AddressLines = []string{"Buzzer 21", "Back close", "Ring twice"}
	}))
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk only"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	})
	if err != nil {
		t.Errorf("an edit of details only is refused: %v (stored street %q, lines %q)", err, hr.Location.Street, hr.Location.AddressLines)
	}
	// An edit of the postcode alone moves the street's house number again.
	hr2 := h.createHR(shopping(callerPhone("07700 900888"), func(r *pb.HelpRequest) {
		r.Location.Street = "2/1 45 Main St"
		r.Location.AddressLines = nil
	}))
	out, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr2.Name, Location: &pb.Location{Postcode: "AB10 1AF"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.postcode"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, was := out.HelpRequest.Location.Street, hr2.Location.Street; got != was {
		t.Errorf("an edit of the postcode alone changed the street from %q to %q (lines %q)", was, got, out.HelpRequest.Location.AddressLines)
	}
}
