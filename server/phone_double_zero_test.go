package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRefusedNumberStoredEarlierKeptOnEdit: a number an older version
// stored as typed, "+353 00 87 123 4567" (+35300871234567), which today's
// rule refuses and the upgrade to schema 14 keeps as stored, refused every
// edit of the record with "requester.phone is not a phone number": the
// helpline could not add to the details, and a volunteer with an offer
// waiting, who may not change her own number, could not change anything.
// Sent back as read it is not set by the edit, as a name stored before it
// was refused is not; one typed anew is judged.
func TestRefusedNumberStoredEarlierKeptOnEdit(t *testing.T) {
	const stored = "+35300871234567"
	h := newHarness(t)
	hr := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	legacyRequest(t, h, hr.Name, func(r *pb.HelpRequest) { r.Requester.Phone = stored })
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("+353 86 765 4321")))
	legacyVolunteer(t, h, self.Name, func(v *pb.Volunteer) { v.Contact.Phone = stored })
	upgradeFrom13(t, h)

	read := h.getHR(hr.Name)
	for _, tc := range []struct {
		what string
		req  *pb.UpdateHelpRequestRequest
	}{
		{"details", &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk and bread"},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
		}},
		{"the requester sent back as read, renamed", &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: hr.Name, Requester: &pb.Contact{DisplayName: "Mary Byrne", Phone: read.GetRequester().GetPhone()}},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester"}},
		}},
	} {
		out, err := h.hr.UpdateHelpRequest(h.ctx, tc.req)
		if err != nil {
			t.Errorf("edit of %s: %v", tc.what, err)
			continue
		}
		if got := out.GetHelpRequest().GetRequester().GetPhone(); got != stored {
			t.Errorf("edit of %s: number %s, want %s kept", tc.what, got, stored)
		}
	}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Requester: &pb.Contact{Phone: "+353 00 87 123 4567"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.phone"}},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("the number typed anew with two zeros: %v, want INVALID_ARGUMENT", err)
	}

	caller := h.createHR(shopping(callerPhone("01224 123456")))
	h.offer(caller.Name, self.Name)
	own := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "siobhan", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: self.Name})))
	if _, err := own.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: self.Name, Contact: &pb.Contact{DisplayName: "Siobhán"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.display_name"}},
	}); err != nil {
		t.Errorf("her edit of her name, with an offer waiting: %v", err)
	}
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: self.Name, Contact: &pb.Contact{Phone: "+353 00 86 765 4321"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.phone"}},
	}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("her number typed anew with two zeros: %v, want INVALID_ARGUMENT", err)
	}
}
