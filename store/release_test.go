package store

import (
	"errors"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReleaseHelpRequest: a volunteer who took a job and can no longer do
// it hands it back. The request is open again, without them and never to
// be offered to them again; their assignment, and the time it held, are
// free at once; their accepted offer stays as the record that they took
// it; the event log says what happened, naming them; and all of it is in
// the file, read again after a restart.
func TestReleaseHelpRequest(t *testing.T) {
	clock := newFakeClock()
	s, path := newStore(t, WithClock(clock.now))
	hr, v, other := lcRequest(t, s), lcVolunteer(t, s, 1), lcVolunteer(t, s, 1)
	off := lcOffer(t, s, hr, v).Offer
	acc := lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off.Name)))
	if acc.Volunteer.ActiveAssignments != 1 || len(acc.Volunteer.Commitments) != 1 || len(acc.Volunteer.RecentAssignmentTimes) != 1 {
		t.Fatalf("accepted: %d active, commitments %v, recent %v", acc.Volunteer.ActiveAssignments, acc.Volunteer.Commitments, acc.Volunteer.RecentAssignmentTimes)
	}
	// At capacity: another request cannot be offered to them.
	second := lcRequest(t, s)
	_, err := s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(second.Name), VolunteerID: idOf(v.Name), Lease: lcLease})
	mustErr(t, err, ErrAtCapacity, "offer to a volunteer at capacity")

	rev0, _ := s.Revision()
	res := lcMust(t, "release")(s.ReleaseHelpRequest(bg, idOf(hr.Name)))
	got := res.HelpRequest
	if got.State != pb.HelpRequest_STATE_OPEN || got.AssignedVolunteer != "" || got.Offer != "" ||
		!slices.Equal(got.DeclinedVolunteers, []string{v.Name}) || got.CloseTime != nil {
		t.Errorf("released request: state %v assigned %q offer %q declined %v closed %v; want OPEN, nobody, no offer, [%s], not closed",
			got.State, got.AssignedVolunteer, got.Offer, got.DeclinedVolunteers, got.CloseTime, v.Name)
	}
	if res.Volunteer.GetName() != v.Name || res.Volunteer.ActiveAssignments != 0 || res.Volunteer.PendingOffers != 0 || len(res.Volunteer.Commitments) != 0 {
		t.Errorf("released volunteer %v: %d active, %d pending, commitments %v; want none", res.Volunteer.GetName(),
			res.Volunteer.ActiveAssignments, res.Volunteer.PendingOffers, res.Volunteer.Commitments)
	}
	if res.Offer != nil {
		t.Errorf("release returned offer %v; no offer changes", res.Offer)
	}
	// A job handed back was not done: it no longer ranks them lower.
	if n := len(res.Volunteer.RecentAssignmentTimes); n != 0 {
		t.Errorf("released volunteer keeps %d recent assignment times, want 0", n)
	}
	verifyAll(t, s)

	// The events of the release's one revision, naming the volunteer.
	page, err := s.ReadEvents(bg, rev0+1, 100)
	mustOK(t, err, "read events")
	var evs []*pb.Event
	for _, ev := range page.Events {
		if uint64(ev.Revision) == rev0+1 {
			evs = append(evs, ev)
		}
	}
	if len(evs) != 2 {
		t.Fatalf("release logged %d events, want 2: %v", len(evs), evs)
	}
	if e := evs[0]; e.Type != pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED || e.PreviousState != pb.HelpRequest_STATE_ASSIGNED ||
		e.State != pb.HelpRequest_STATE_OPEN || e.HelpRequest != hr.Name || e.Volunteer != v.Name || e.VolunteerOrganisation != "org-a" {
		t.Errorf("first event %v; want the state change ASSIGNED -> OPEN naming %s", e, v.Name)
	}
	if e := evs[1]; e.Type != pb.Event_TYPE_ASSIGNMENT_CANCELLED || e.HelpRequest != hr.Name || e.Volunteer != v.Name {
		t.Errorf("second event %v; want ASSIGNMENT_CANCELLED naming %s", e, v.Name)
	}

	// Read again from the file, after a restart.
	mustOK(t, s.Close(), "close")
	s = openAt(t, path, WithClock(clock.now))
	stored, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get request")
	if stored.State != pb.HelpRequest_STATE_OPEN || stored.AssignedVolunteer != "" || !slices.Contains(stored.DeclinedVolunteers, v.Name) {
		t.Errorf("stored after restart: %v", stored)
	}
	if open := names(listAllHR(t, s, HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN}, 10)); !slices.Contains(open, hr.Name) {
		t.Errorf("open requests %v lack the released one", open)
	}
	o, err := s.GetOffer(bg, idOf(off.Name))
	mustOK(t, err, "get offer")
	if o.State != pb.Offer_STATE_ACCEPTED || !o.DecideTime.AsTime().Equal(acc.Offer.DecideTime.AsTime()) {
		t.Errorf("the accepted offer is now %v decided %v; want it kept as accepted", o.State, o.DecideTime.AsTime())
	}
	live, _, err := s.ListOffers(bg, OfferFilter{VolunteerID: idOf(v.Name), Live: true}, Page{Size: 10})
	mustOK(t, err, "list live offers")
	if len(live) != 0 {
		t.Errorf("offers in force for the volunteer after release: %v", offerNames(live))
	}

	// Never offered it again; but free for other work.
	_, err = s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(hr.Name), VolunteerID: idOf(v.Name), Lease: lcLease})
	mustErr(t, err, ErrDeclinedBefore, "offer the released request to its volunteer again")
	lcOffer(t, s, second, v)
	// Another volunteer takes it, and does it.
	again := lcOffer(t, s, hr, other).Offer
	lcMust(t, "accept by another")(s.AcceptOffer(bg, idOf(again.Name)))
	done := lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(hr.Name)))
	if done.HelpRequest.AssignedVolunteer != other.Name {
		t.Errorf("fulfilled by %q, want %s", done.HelpRequest.AssignedVolunteer, other.Name)
	}
	verifyAll(t, s)
}

// TestReleaseCheckRefuses: a check that refuses the release (the server's
// "this volunteer's own assignment", judged in the write) changes nothing,
// and sees the request and its volunteer as stored.
func TestReleaseCheckRefuses(t *testing.T) {
	s, _ := newStore(t)
	hr, v := lcRequest(t, s), lcVolunteer(t, s, 1)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, hr, v).Offer.Name)))
	before := dump(t, s)
	refused := errors.New("not theirs")
	var saw string
	_, err := s.ReleaseHelpRequest(bg, idOf(hr.Name), func(req *pb.HelpRequest, vol *pb.Volunteer) error {
		saw = req.AssignedVolunteer + " " + vol.Name
		return refused
	})
	mustErr(t, err, refused, "release refused by its check")
	if want := v.Name + " " + v.Name; saw != want {
		t.Errorf("the check saw %q, want %q", saw, want)
	}
	if d := diffDump(before, dump(t, s)); len(d) > 0 {
		t.Errorf("a refused release changed the file: %v", d)
	}
	res := lcMust(t, "release")(s.ReleaseHelpRequest(bg, idOf(hr.Name), func(*pb.HelpRequest, *pb.Volunteer) error { return nil }))
	if res.HelpRequest.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("released with a passing check: %v", res.HelpRequest.State)
	}
	verifyAll(t, s)
}
