package server_test

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// review3Window is the window from to to after at. One at for a test's
// windows, rather than the clock read at each (ts): two requests for
// 1h-2h made either side of a second's turn, on a loaded machine, were a
// second apart, and as each takes its whole hour they were no longer one
// visit to the door.
func review3Window(at time.Time, from, to time.Duration) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at.Add(from)), EndTime: timestamppb.New(at.Add(to))}}
	}
}

// TestSecondStreetKeepsABlankStreetDoorShut: the caller's only street at
// AB10 1AB is Union St (Ann assigned); a request with the street left out
// is at that door, so Bob is refused it. The caller then asks for help on
// another day at "Holburn Street" (a partner's typo, or a second
// address): the blank request's street is no longer known, so it may be
// at either door, and Bob is still refused.
func TestSecondStreetKeepsABlankStreetDoorShut(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	union := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "Union St" }))
	blank := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = ""; r.Details = "Post a letter" }))
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(union.Name, ann.Name).Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: blank.Name, Volunteer: bob.Name}); err == nil {
		t.Fatal("precondition: Bob offered the blank-street request while Ann goes to Union St")
	}
	// Another day, another street at the same postcode.
	h.createHR(shopping(review3Window(time.Now(), 72*time.Hour, 74*time.Hour), func(r *pb.HelpRequest) { r.Location.Street = "Holburn Street" }))
	r, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: blank.Name, Volunteer: bob.Name})
	if err != nil {
		return
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: r.Offer.Name}); err == nil {
		t.Errorf("Ann (Union St, assigned) and Bob (the blank-street request, created when Union St was the caller's only street) are both going to the door at meeting times, after a request on another day named a second street")
	}
}

// TestEditChainsTwoVolunteersAtOneDoor: Ann is assigned 1h-2h and Bob
// 4h-5h at the caller's door (times that do not meet). Ann is offered a
// third request at 1h-2h; an edit widens it to 1h-5h, meeting Bob's: the
// review withdraws it, though Ann is among those coming, since Ann might
// be at the door at 4h30 when Bob is.
func TestEditChainsTwoVolunteersAtOneDoor(t *testing.T) {
	h := newHarness(t)
	at := time.Now()
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	early := h.createHR(shopping(review3Window(at, time.Hour, 2*time.Hour)))
	late := h.createHR(shopping(review3Window(at, 4*time.Hour, 5*time.Hour), func(r *pb.HelpRequest) { r.Details = "Bins" }))
	third := h.createHR(shopping(review3Window(at, time.Hour, 2*time.Hour), func(r *pb.HelpRequest) { r.Details = "Post a letter" }))
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(early.Name, ann.Name).Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(late.Name, bob.Name).Name}); err != nil {
		t.Fatal(err)
	}
	o := h.offer(third.Name, ann.Name)
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: third.Name, Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at.Add(time.Hour)), EndTime: timestamppb.New(at.Add(5 * time.Hour))}}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}},
	}); err != nil {
		t.Fatalf("widen the window: %v", err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err == nil {
		t.Errorf("Ann accepted a 1h-5h visit to the door Bob goes to 4h-5h (offer %v after the edit)", h.getOffer(o.Name).State)
	}
}

// TestHouseJoinsALineWithRoom: four address lines, the first 100
// characters (the limit), and "12 Union St": valid as sent, and stored
// with the house number joined to a line that has room for it.
func TestHouseJoinsALineWithRoom(t *testing.T) {
	h := newHarness(t)
	first := strings.Repeat("a", 100)
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
		r.Location.Street = "12 Union St"
		r.Location.AddressLines = []string{first, "Rear door", "Ring twice", "Key safe"}
	})})
	if err != nil {
		t.Errorf("create: a request valid as sent is refused after the house joins the first line: %v", err)
	}
	batch, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{shopping(callerPhone("07700 900887"), func(r *pb.HelpRequest) {
		r.ExternalId = "row-1"
		r.Location.Street = "12 Union St"
		r.Location.AddressLines = []string{first, "Rear door", "Ring twice", "Key safe"}
	})}})
	if err != nil {
		t.Fatal(err)
	}
	if e := batch.GetResults()[0].GetError(); e != nil {
		t.Errorf("batch row: valid as sent, refused after the house joins the first line: %v", e)
	}
	hr := h.createHR(shopping(callerPhone("07700 900888"), func(r *pb.HelpRequest) {
		r.Location.Street = "Union St"
		r.Location.AddressLines = []string{first, "Rear door", "Ring twice", "Key safe"}
	}))
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Street: "12 Union St"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
	})
	if err != nil {
		t.Errorf("update of location.street: refused over address_lines it did not touch: %v", err)
	}
	vol := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
		v.Home.AddressLines = []string{first, "b", "c", "d"}
	}))
	_, err = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: vol.Name, Home: &pb.Location{Street: "12 Union St"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home.street"}},
	})
	if err != nil {
		t.Errorf("volunteer update of home.street: refused over address_lines it did not touch: %v", err)
	}
}

// TestUnicodeDigitsLeaveTheStreet: a house number in full-width or
// Arabic-Indic digits, or a range written with a dash between spaces,
// leaves the street shown before accept, as plain digits do.
func TestUnicodeDigitsLeaveTheStreet(t *testing.T) {
	h := newHarness(t)
	for i, typed := range []string{"１２ Union St", "Flat ２ 12 Union St", "12 – 14 Union St"} {
		hr := h.createHR(shopping(callerPhone("07700 90090"+string(rune('0'+i))), func(r *pb.HelpRequest) { r.Location.Street = typed; r.Location.AddressLines = nil }))
		if s := hr.GetLocation().GetStreet(); strings.IndexFunc(s, unicode.IsDigit) >= 0 {
			t.Errorf("street typed %q is stored as %q (address_lines %q): the street names the house", typed, s, hr.GetLocation().GetAddressLines())
		}
	}
}

// TestStreetCorrectionReplacesTheHouse: a request taken as "12 Union St"
// (the 12 moves to the address lines); the helpline corrects the street
// to "14 Union St": the lines name 14 alone, and the same correction sent
// twice (a client retry) names it once.
func TestStreetCorrectionReplacesTheHouse(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.Street = "12 Union St"; r.Location.AddressLines = nil }))
	var out *pb.HelpRequest
	for range 2 {
		resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Street: "14 Union St"}},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = resp.HelpRequest
	}
	if lines := out.Location.AddressLines; len(lines) != 1 || lines[0] != "14" {
		t.Errorf("after correcting the street to \"14 Union St\" (twice): address_lines %q", lines)
	}
}
