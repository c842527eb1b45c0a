package server_test

import (
	"slices"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTrunkZeroStoredEarlierHeldForNewCall: a daughter in Dublin always
// gives her mobile as "+353 087 123 4567", which versions before the zero
// was dropped however typed stored as +3530871234567. Her mother's
// shopping for tomorrow morning, taken then, is in hand. She rings again
// after the upgrade for the same morning, typed the same way: the new
// request is stored as +353871234567, and was not told of the first (no
// same-time note for the same need), and Bob was offered it while Ann
// was going to the same door at the same time.
func TestTrunkZeroStoredEarlierHeldForNewCall(t *testing.T) {
	secondCallHeld(t, newHarness(t))
}

// secondCallHeld plays the daughter's two calls on h: the first's request,
// stored as an older version did, is Ann's; the second, for the same
// morning, must be told of it and not offered to Bob.
func secondCallHeld(t *testing.T, h *harness) {
	t.Helper()
	base := time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	first := h.createSameTime(callerPhone("+353 87 123 4567"), sameTimeWindow(base, 0, 2*time.Hour)).GetHelpRequest()
	legacyRequest(t, h, first.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
		t.Fatal(err)
	}
	second := h.createSameTime(callerPhone("+353 087 123 4567"), sameTimeWindow(base, time.Hour, 3*time.Hour))
	if !slices.Contains(second.GetSameTimeRequests(), first.Name) {
		t.Errorf("the second call's same_time_requests = %v, want the first's request %s", second.GetSameTimeRequests(), first.Name)
	}
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.GetHelpRequest().GetName(), Volunteer: bob.Name})
	if err == nil {
		t.Errorf("Bob was offered the second request while Ann is going to the same door at the same time")
	}
}

// TestTrunkZeroStoredEarlierHeldForBatchRow: as for a call, a partner's
// row on the number an older version stored with its zero is told of the
// client's request in hand at the same time.
func TestTrunkZeroStoredEarlierHeldForBatchRow(t *testing.T) {
	h := newHarness(t)
	window := &pb.TimeWindow{StartTime: ts(time.Hour), EndTime: ts(5 * time.Hour)}
	row := bulkRow("daughter-abroad")
	row.Timing = &pb.HelpRequest_Window{Window: window}
	row.Requester.Phone = "+353 87 123 4567"
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{row}})
	if err != nil {
		t.Fatal(err)
	}
	first := resp.Results[0].GetHelpRequest().GetName()
	legacyRequest(t, h, first, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	next := bulkRow("daughter-abroad-2")
	next.Timing = &pb.HelpRequest_Window{Window: window}
	next.Requester.Phone = "+353 087 123 4567"
	resp, err = h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{next}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Results[0].GetSameTimeRequests(); !slices.Contains(got, first) {
		t.Errorf("the row's same_time_requests = %v, want the request in hand %s (error %v)", got, first, resp.Results[0].GetError())
	}
}

// TestTrunkZeroStoredEarlierOwnRequest: Siobhán registered as a volunteer
// on "+353 087 123 4567", which an older version stored as
// +3530871234567. Ill, she rings for help from the same number, typed the
// same way, stored today as +353871234567: she was offered her own
// request, as if it were someone else's.
func TestTrunkZeroStoredEarlierOwnRequest(t *testing.T) {
	h := newHarness(t)
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("+353 87 123 4567")))
	legacyVolunteer(t, h, self.Name, func(v *pb.Volunteer) { v.Contact.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	hr := h.createHR(shopping(callerPhone("+353 087 123 4567")))
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: self.Name})
	if err == nil {
		t.Errorf("Siobhán was offered her own request")
	}
}

// TestTrunkZeroStoredEarlierOwnRequestRegistered: the other way about,
// her request in hand stored by an older version with the zero, and she
// registers as a volunteer on the number typed the same way: she was
// offered her own request.
func TestTrunkZeroStoredEarlierOwnRequestRegistered(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	legacyRequest(t, h, hr.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("+353 087 123 4567")))
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: self.Name})
	if err == nil {
		t.Errorf("Siobhán was offered her own request")
	}
}
