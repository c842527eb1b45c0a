package store

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// dayRequest stores an OPEN request of the caller phone at street, AB10
// 1AB, from 9:00 to 17:00 on day of March 2026.
func dayRequest(t *testing.T, s *BoltStore, phone, street string, day int) *pb.HelpRequest {
	t.Helper()
	hr := newHelpRequest("org-a", "", "AB10 1AB", phone)
	hr.Location.Street = street
	hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{
		StartTime: timestamppb.New(time.Date(2026, 3, day, 9, 0, 0, 0, time.UTC)),
		EndTime:   timestamppb.New(time.Date(2026, 3, day, 17, 0, 0, 0, time.UTC)),
	}}
	hr, err := s.CreateHelpRequest(bg, hr, Idempotency{})
	mustOK(t, err, "create")
	return hr
}

// assignTo offers hr to v, by the caller's leave or not, and accepts it.
func assignTo(t *testing.T, s *BoltStore, hr *pb.HelpRequest, v *pb.Volunteer, leave bool) error {
	t.Helper()
	res, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease, SecondVolunteerOK: leave})
	if err != nil {
		return err
	}
	_, err = s.AcceptOffer(bg, idOf(res.Offer.Name))
	return err
}

// TestByLeaveVisitDoesNotHideAPlainOne: Bob comes by the caller's leave
// for B, and (being already there) is also assigned C at the same door
// and time without leave. He comes by leave only if every visit does: Ann
// is refused beside him.
func TestByLeaveVisitDoesNotHideAPlainOne(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900555"
	c := dayRequest(t, s, phone, "Union Street", 2) // older
	b := dayRequest(t, s, phone, "Union Street", 2) // newer: read first
	a := dayRequest(t, s, phone, "Union Street", 2)
	ann, bob := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	mustOK(t, assignTo(t, s, b, bob, true), "Bob by leave on B")
	mustOK(t, assignTo(t, s, c, bob, false), "Bob on C, no leave (he is coming anyway)")
	err := assignTo(t, s, a, ann, false)
	var sd *SameDoorError
	if !errors.As(err, &sd) {
		t.Errorf("Ann offered/assigned A beside Bob's C (no leave for either): err = %v, want SameDoorError naming %s", err, bob.Name)
	}
}

// TestEditOfAssignedDetailsAtACrowdedDoor: the door already has two
// volunteers (Ann on A, assigned before the caller's newest maxSiblings
// requests; Bob on B, among them, whose offer could not see A). Editing
// only A's urgency and details, nothing about place or time, goes
// through.
func TestEditOfAssignedDetailsAtACrowdedDoor(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900556"
	a := dayRequest(t, s, phone, "Union Street", 2)
	ann, bob := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	mustOK(t, assignTo(t, s, a, ann, false), "Ann on A")
	for range maxSiblings {
		dayRequest(t, s, phone, "Holburn Street", 20)
	}
	b := dayRequest(t, s, phone, "Union Street", 2)
	if err := assignTo(t, s, b, bob, false); err != nil {
		t.Skipf("Bob's offer was refused (%v): no double door to edit", err)
	}
	cur, err := s.GetHelpRequest(bg, idOf(a.Name))
	mustOK(t, err, "get A")
	cur.Urgency = pb.Urgency_URGENCY_LOW
	cur.Details = "Only the shop now; the prescription was collected."
	if _, err := s.UpdateHelpRequest(bg, cur); err != nil {
		t.Errorf("editing only A's urgency and details: %v; want it allowed (place and time unchanged)", err)
	}
}
