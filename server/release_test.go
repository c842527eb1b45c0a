package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReleaseHelpRequest: a volunteer who accepted a job and then falls
// ill hands it back with their own token. The request is open again, never
// put to them again by FindCandidates, CreateOffer or Dispatch, while
// their freed capacity counts at once for other requests; another
// volunteer is offered it and takes it; and their app hears of it.
func TestReleaseHelpRequest(t *testing.T) {
	h := newHarness(t)
	// Callum lives at the caller's postcode, Isla a street away: Callum is
	// the one matching would choose, were he not passed over.
	callum := h.createVol(matchVolunteer("Callum", "AB10 1AB"))
	isla := h.createVol(matchVolunteer("Isla", "AB10 1AF"))
	hr := h.createHR(shopping())
	hr2 := h.createHR(shopping(callerPhone("01224 765432")))
	cConn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "c", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: callum.Name}))
	iConn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "i", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: isla.Name}))
	cMatch, iMatch := pb.NewMatchingServiceClient(cConn), pb.NewMatchingServiceClient(iConn)
	candidates := func(req string) []string {
		t.Helper()
		resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: req})
		if err != nil {
			t.Fatalf("find candidates for %s: %v", req, err)
		}
		var out []string
		for _, c := range resp.Candidates {
			out = append(out, c.Volunteer)
		}
		return out
	}
	if got := candidates(hr.Name); len(got) != 2 || got[0] != callum.Name {
		t.Fatalf("candidates before any offer: %v, want %s first", got, callum.Name)
	}

	// Nothing to hand back before it is assigned.
	_, err := h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
	off := h.offer(hr.Name, callum.Name)
	// Offered to him, and his to see, but not yet his to hand back.
	_, err = cMatch.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
	if _, err := cMatch.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	if v := h.getVol(callum.Name); v.ActiveAssignments != 1 {
		t.Fatalf("Callum after accepting: %d active", v.ActiveAssignments)
	}
	if got := candidates(hr2.Name); slices.Contains(got, callum.Name) {
		t.Fatalf("Callum, at capacity, is a candidate for another request: %v", got)
	}

	w := h.watch(pb.NewEventServiceClient(cConn), &pb.WatchEventsRequest{StartRevision: h.revision() + 1})

	// The name is checked; another volunteer may not know the request is
	// there, let alone hand it back.
	code, reason, fields := errorOf(t, func() error {
		_, err := cMatch.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: "helpRequests/"})
		return err
	}())
	if code != codes.InvalidArgument || reason != "INVALID_FIELDS" || !slices.Equal(fields, []string{"name"}) {
		t.Errorf("bad name: %v %s %v, want INVALID_ARGUMENT naming name", code, reason, fields)
	}
	_, err = iMatch.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.NotFound, "HELP_REQUEST_NOT_FOUND")
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_ASSIGNED || got.AssignedVolunteer != callum.Name {
		t.Fatalf("after refusals: %v assigned to %q", got.State, got.AssignedVolunteer)
	}

	// Callum falls ill and hands it back.
	rel, err := cMatch.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	if err != nil {
		t.Fatalf("release by its volunteer: %v", err)
	}
	if r := rel.HelpRequest; r.State != pb.HelpRequest_STATE_OPEN || r.AssignedVolunteer != "" || r.Requester != nil || len(r.Location.GetAddressLines()) > 0 {
		t.Errorf("release answered %v; want it OPEN, and no longer his to see in full", r)
	}
	// Tried again (an answer lost), he is told where it stands.
	_, err = cMatch.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")

	got := h.getHR(hr.Name)
	if got.State != pb.HelpRequest_STATE_OPEN || got.AssignedVolunteer != "" || got.Offer != "" || !slices.Equal(got.DeclinedVolunteers, []string{callum.Name}) {
		t.Errorf("stored after release: %v assigned %q offer %q declined %v", got.State, got.AssignedVolunteer, got.Offer, got.DeclinedVolunteers)
	}
	if v := h.getVol(callum.Name); v.ActiveAssignments != 0 || len(v.Commitments) != 0 {
		t.Errorf("Callum after release: %d active, commitments %v", v.ActiveAssignments, v.Commitments)
	}
	if o, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name}); err != nil || o.Offer.State != pb.Offer_STATE_ACCEPTED {
		t.Errorf("his accepted offer after release: %v %v; want it kept as history", o, err)
	}
	live, err := cMatch.ListOffers(h.ctx, &pb.ListOffersRequest{Live: true})
	if err != nil || len(live.Offers) != 0 {
		t.Errorf("offers in force for Callum after release: %v %v", live, err)
	}

	// Matching passes him over for it, and sees him free for others.
	if got := candidates(hr.Name); !slices.Equal(got, []string{isla.Name}) {
		t.Errorf("candidates after release: %v, want only %s", got, isla.Name)
	}
	if got := candidates(hr2.Name); !slices.Contains(got, callum.Name) {
		t.Errorf("Callum, freed, is not a candidate for another request: %v", got)
	}
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: callum.Name})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	d, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.OffersMade != 2 {
		t.Errorf("dispatch made %d offers, want 2 (one each)", d.OffersMade)
	}
	got = h.getHR(hr.Name)
	if got.State != pb.HelpRequest_STATE_OFFERED {
		t.Fatalf("after dispatch: %v", got.State)
	}
	o, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: got.Offer})
	if err != nil || o.Offer.Volunteer != isla.Name {
		t.Fatalf("dispatch offered it to %s (%v), want %s", o.GetOffer().GetVolunteer(), err, isla.Name)
	}
	if _, err := iMatch.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: got.Offer}); err != nil {
		t.Fatalf("Isla accepts: %v", err)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_ASSIGNED || got.AssignedVolunteer != isla.Name {
		t.Errorf("after Isla accepts: %v assigned to %q", got.State, got.AssignedVolunteer)
	}
	// Now hers: Callum, who can still see what it was, may not hand it back.
	_, err = cMatch.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.PermissionDenied, "PERMISSION_DENIED")

	// His app heard that it is off his hands.
	w.waitFor(t, h.revision())
	evs, _ := w.events()
	var changed, ended bool
	for _, ev := range evs {
		if ev.HelpRequest != hr.Name || ev.Volunteer != callum.Name {
			continue
		}
		switch {
		case ev.Type == pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED && ev.PreviousState == pb.HelpRequest_STATE_ASSIGNED && ev.State == pb.HelpRequest_STATE_OPEN:
			changed = true
		case ev.Type == pb.Event_TYPE_ASSIGNMENT_CANCELLED:
			ended = true
		}
	}
	if !changed || !ended {
		t.Errorf("Callum's stream: state change ASSIGNED -> OPEN %v, assignment ended %v; events %v", changed, ended, evs)
	}

	// Logged by resource names only.
	logs := h.logs.FilterMessage("help request released").All()
	if len(logs) != 1 {
		t.Fatalf("%d release logs, want 1", len(logs))
	}
	logged := logs[0].ContextMap()
	if logged["help_request"] != hr.Name || logged["volunteer"] != callum.Name || logged["by"] != "ROLE_VOLUNTEER" {
		t.Errorf("release logged %v", logged)
	}
	if s := fmt.Sprint(logged); strings.Contains(s, "Margaret") || strings.Contains(s, "123456") || strings.Contains(s, "Callum") {
		t.Errorf("release log carries personal data: %s", s)
	}
}

// TestReleaseByStaff: the helpline, told by the volunteer on the phone,
// hands the job back for them.
func TestReleaseByStaff(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(matchVolunteer("Callum", "AB10 1AB"))
	hr := h.createHR(shopping())
	helpline := pb.NewMatchingServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_HELPLINE})))
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(hr.Name, v.Name).Name}); err != nil {
		t.Fatal(err)
	}
	rel, err := helpline.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	r := rel.HelpRequest
	if r.State != pb.HelpRequest_STATE_OPEN || r.AssignedVolunteer != "" || !slices.Equal(r.DeclinedVolunteers, []string{v.Name}) || r.Requester.GetPhone() == "" {
		t.Errorf("released by the helpline: %v", r)
	}
	if got := h.getVol(v.Name); got.ActiveAssignments != 0 {
		t.Errorf("volunteer still holds %d", got.ActiveAssignments)
	}
	_, err = helpline.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
	_, err = helpline.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: "helpRequests/01arz3ndektsv4rrffq69g5fav"})
	wantFailure(t, err, codes.NotFound, "HELP_REQUEST_NOT_FOUND")
}

// TestReleaseOneOfTwoAtADoor: Vic holds both of a caller's requests at
// one door and time and hands one back. He still goes there for the
// other, so an offer of the one handed back to Wes is refused (SAME_DOOR)
// unless the caller agrees to a second visitor; the refusal says so, and
// does not send staff to offer it to Vic, who may never be offered it.
func TestReleaseOneOfTwoAtADoor(t *testing.T) {
	h := newHarness(t)
	vic := h.createVol(matchVolunteer("Vic", "AB10 1AB", func(v *pb.Volunteer) { v.Capacity = 3 }))
	wes := h.createVol(matchVolunteer("Wes", "AB10 1AF", phoned("07700 900222"), func(v *pb.Volunteer) { v.Capacity = 3 }))
	a := invDoor(h, "Union Street", 2, 4)
	b := invDoor(h, "Union Street", 2, 4)
	h.invAssign(a.Name, vic.Name)
	h.invAssign(b.Name, vic.Name)
	if _, err := h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: a.Name}); err != nil {
		t.Fatal(err)
	}
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: a.Name, Volunteer: wes.Name})
	wantFailure(t, err, codes.FailedPrecondition, "SAME_DOOR")
	if msg := status.Convert(err).Message(); strings.Contains(msg, "offer it to them") || !strings.Contains(msg, "allow_second_volunteer") {
		t.Errorf("refusal: %q; want allow_second_volunteer, not an offer to the volunteer who handed it back", msg)
	}
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: a.Name, Volunteer: wes.Name, AllowSecondVolunteer: true}); err != nil {
		t.Errorf("offer with the caller's leave: %v", err)
	}
}

// TestReleaseSaidInCandidates: after Callum hands a job back, the
// helpline looking for someone else is told why he is not among them in
// words that cover what he did, and so is an offer to him.
func TestReleaseSaidInCandidates(t *testing.T) {
	h := newHarness(t)
	callum := h.createVol(matchVolunteer("Callum", "AB10 1AB"))
	hr := h.createHR(shopping())
	h.invAssign(hr.Name, callum.Name)
	if _, err := h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name}); err != nil {
		t.Fatal(err)
	}
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
	if err != nil || !strings.Contains(resp.Summary, "handed back") {
		t.Errorf("candidates after the release: %v %v; want the summary to say he handed it back", resp, err)
	}
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: callum.Name})
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "handed back") {
		t.Errorf("offer to him again: %q; want it to say he handed it back", msg)
	}
}
