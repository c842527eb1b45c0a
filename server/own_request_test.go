package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
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

// TestNobodyIsOfferedTheirOwnRequest: dispatch and FindCandidates pass over
// the requester's own volunteer records, but an offer could still reach
// them. A coordinator offered Margaret's request by hand to Margaret (her
// volunteer id pasted from "volunteer find --phone"), and the offer was
// made. Or the offer was made while the numbers told them apart: her
// request was taken down with a digit wrong, or she had volunteered from
// her mobile and then gave her landline; once the number was put right
// the offer of her own request stood, and she could accept it, from
// which her app showed her her own door. An offer by hand is refused
// (NOT_ELIGIBLE, rule OWN_REQUEST), and the edit that makes the numbers
// one withdraws the waiting offer, as for any rule it breaks.
func TestNobodyIsOfferedTheirOwnRequest(t *testing.T) {
	const landline = "01224 123456"
	for _, tc := range []struct {
		name string
		// volPhone and reqPhone are the numbers when the offer is made;
		// edit, if not nil, then makes them one.
		volPhone, reqPhone string
		edit               func(h *harness, hr, vol string) error
	}{
		{name: "by hand", volPhone: landline, reqPhone: landline},
		{name: "request's number corrected", volPhone: landline, reqPhone: "01224 123465", edit: func(h *harness, hr, _ string) error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr, Requester: &pb.Contact{Phone: landline}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.phone"}},
			})
			return err
		}},
		{name: "volunteer's number changed", volPhone: "07700 900555", reqPhone: landline, edit: func(h *harness, _, vol string) error {
			_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: vol, Contact: &pb.Contact{Phone: landline}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.phone"}},
			})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			self := h.createVol(matchVolunteer("Margaret", "AB10 1AB", phoned(tc.volPhone)))
			hr := h.createHR(shopping(callerPhone(tc.reqPhone)))
			if tc.edit == nil {
				_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: self.Name})
				wantFailure(t, err, codes.FailedPrecondition, server.ReasonNotEligible)
				if got := errorMetadata(err)["rule"]; got != "OWN_REQUEST" {
					t.Errorf("refusal's rule %q, want OWN_REQUEST", got)
				}
				if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN {
					t.Errorf("request %v after the refused offer, want open", got.State)
				}
				return
			}
			offer := h.offer(hr.Name, self.Name) // two people, as far as anyone knows
			if err := tc.edit(h, hr.Name, self.Name); err != nil {
				t.Fatalf("make the numbers one: %v", err)
			}
			got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: offer.Name})
			if err != nil {
				t.Fatal(err)
			}
			if got.Offer.State != pb.Offer_STATE_WITHDRAWN || got.Offer.WithdrawReason != "OWN_REQUEST" {
				t.Errorf("Margaret's offer of her own request is %v (%q), want withdrawn, OWN_REQUEST", got.Offer.State, got.Offer.WithdrawReason)
			}
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: offer.Name}); err == nil {
				t.Errorf("Margaret accepted her own request")
			}
			if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN {
				t.Errorf("request %v, want open for a neighbour", got.State)
			}
		})
	}
}
