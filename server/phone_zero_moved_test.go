package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTrunkZeroStoredEarlierPhoneCorrected: the daughter's request in hand,
// stored by an older version as +3530871234567, is Ann's. A second call
// for the same door and time was taken down on another number and is
// Bob's. Correcting its number to hers, typed as ever ("+353 087 ..."),
// stored today as +353871234567, was taken as a new number: the store did
// not see Ann going to the door, and the correction put two volunteers at
// one door at one time. It is refused SAME_DOOR, as for a number stored in
// one form.
func TestTrunkZeroStoredEarlierPhoneCorrected(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	first := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	legacyRequest(t, h, first.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	again := h.createHR(shopping(callerPhone("01224 123465")))
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(again.Name, bob.Name).Name}); err != nil {
		t.Fatal(err)
	}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: again.Name, Requester: &pb.Contact{Phone: "+353 087 123 4567"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.phone"}},
	})
	wantFailure(t, err, codes.FailedPrecondition, "SAME_DOOR")
}

// TestTrunkZeroStoredEarlierSiblingLeftBehind: both the caller's requests
// in hand were stored by an older version as +3530871234567, one Ann's.
// An edit of the other's details stores it as +353871234567, as today;
// the first, left in the older form, no longer read as the same caller's,
// and Bob could be offered the second for the door Ann is going to.
func TestTrunkZeroStoredEarlierSiblingLeftBehind(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	first := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	second := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	for _, n := range []string{first.Name, second.Name} {
		legacyRequest(t, h, n, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	}
	upgradeFrom13(t, h)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: second.Name, Details: "Milk and bread, and the paper"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: bob.Name}); err == nil {
		t.Errorf("Bob was offered the second request while Ann is going to the same door at the same time")
	}
}

// TestTrunkZeroStoredEarlierVolunteerNumberChanged: Siobhán's request in
// hand was stored by an older version as +3530871234567. She is a
// volunteer too, registered on her old number; changing it to her mobile,
// typed as ever ("+353 087 ..."), stored today as +353871234567, left the
// two in two forms, and she was offered her own request.
func TestTrunkZeroStoredEarlierVolunteerNumberChanged(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	legacyRequest(t, h, hr.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("07700 900333")))
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: self.Name, Contact: &pb.Contact{Phone: "+353 087 123 4567"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.phone"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: self.Name}); err == nil {
		t.Errorf("Siobhán was offered her own request")
	}
}
