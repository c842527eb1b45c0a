package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAcceptOfWhatTheVolunteerSaw: the request's time was moved while the
// offer waited, and the volunteer's accept took on a job at a time they
// had never been shown. An accept naming the request's etag as shown is
// ABORTED when the request changed, and changes nothing; with the etag
// read again it goes through.
func TestAcceptOfWhatTheVolunteerSaw(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Morag", "AB10 1AF"))
	hr := h.createHR(shopping())
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "morag", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}))
	match, requests := pb.NewMatchingServiceClient(conn), pb.NewHelpRequestServiceClient(conn)
	o, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: vol.Name})
	if err != nil {
		t.Fatal(err)
	}
	shown, err := requests.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk, bread, and the big bag of cat litter"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Offer.Name, HelpRequestEtag: shown.HelpRequest.Etag})
	if code, _, _ := errorOf(t, err); code != codes.Aborted {
		t.Fatalf("accept of a request changed since it was shown: %v", err)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OFFERED {
		t.Fatalf("after the refused accept the request is %v", got.State)
	}
	again, err := requests.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Offer.Name, HelpRequestEtag: again.HelpRequest.Etag}); err != nil {
		t.Fatalf("accept of the request as read again: %v", err)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_ASSIGNED || got.AssignedVolunteer != vol.Name {
		t.Errorf("after the accept: %v, %s", got.State, got.AssignedVolunteer)
	}
}
