package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestNobodyIsSentToTheirOwnRequest: a volunteer who falls ill rings the
// helpline for shopping. Living at the door, they were the nearest
// candidate for their own request, and the dispatcher offered it to them:
// the request then waited on someone who cannot go (a lease, and their
// app buzzing with their own request), while a neighbour could have taken
// it. The requester's own volunteer records (the same phone number) are
// neither candidates nor dispatched to.
func TestNobodyIsSentToTheirOwnRequest(t *testing.T) {
	h := newHarness(t)
	self := h.createVol(matchVolunteer("Margaret", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "01224 123456" }))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping()) // Margaret's, by 01224 123456, at AB10 1AB

	found, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range found.Candidates {
		if c.Volunteer == self.Name {
			t.Errorf("FindCandidates lists the requester's own volunteer record %s (%s)", self.Name, c.Explanation)
		}
	}
	if len(found.Candidates) == 0 || found.Candidates[0].Volunteer != ann.Name {
		t.Errorf("FindCandidates = %v, want Ann first", found.Candidates)
	}
	for _, x := range found.Exclusions {
		if x.Reason == "DECLINED_BEFORE" {
			t.Errorf("FindCandidates says %d declined a request nobody was offered", x.Count)
		}
	}

	if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
		t.Fatal(err)
	}
	got := h.getHR(hr.Name)
	offer, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: got.Offer})
	if err != nil {
		t.Fatalf("no offer after dispatch (request %v): %v", got.State, err)
	}
	if offer.Offer.Volunteer != ann.Name {
		t.Errorf("dispatch offered Margaret's request to %s, want Ann (%s), not Margaret herself (%s)", offer.Offer.Volunteer, ann.Name, self.Name)
	}
}

// TestOwnRecordLeavesNoTraceInTheSummary: the requester's own volunteer
// record, passed over, is said nothing of. With page_size 1 and Ann the
// one neighbour who can go, the page is full and there is nothing to
// explain; with Margaret paused (she is ill), staff were told "1 has
// paused" of the very caller, and that the page fell short when it did
// not.
func TestOwnRecordLeavesNoTraceInTheSummary(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Margaret", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "01224 123456"; v.Paused = true }))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping()) // Margaret's, by 01224 123456, at AB10 1AB

	full, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Candidates) != 1 || full.Candidates[0].Volunteer != ann.Name || full.Summary != "" || len(full.Exclusions) != 0 {
		t.Errorf("page of 1 = %v, summary %q, exclusions %v; want Ann alone, nothing to explain", full.Candidates, full.Summary, full.Exclusions)
	}

	short, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range short.Exclusions {
		if x.Reason == "PAUSED" {
			t.Errorf("page of 5: summary %q counts the requester's own paused record", short.Summary)
		}
	}
}

// TestOwnRecordUncountedKeepsTheOrder: with the requester's own paused
// record taken out of the counts, the summary still says the most common
// reason first.
func TestOwnRecordUncountedKeepsTheOrder(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Margaret", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "01224 123456"; v.Paused = true }))
	h.createVol(matchVolunteer("Iain", "AB10 1AF", func(v *pb.Volunteer) { v.Paused = true }))
	h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Availability.Weekly = nil }))
	h.createVol(matchVolunteer("Bill", "AB10 1AF", func(v *pb.Volunteer) { v.Availability.Weekly = nil }))
	hr := h.createHR(shopping())
	got, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary %q, exclusions %v", got.Summary, got.Exclusions)
	if len(got.Exclusions) != 2 || got.Exclusions[0].Count != 2 || got.Exclusions[1].Reason != "PAUSED" || got.Exclusions[1].Count != 1 {
		t.Errorf("exclusions %v (summary %q), want 2 of one rule and then 1 paused", got.Exclusions, got.Summary)
	}
}
