package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerMe: an app handed only a volunteer's token could not learn
// whose it was (volunteers may not list volunteers, and their events may
// be days away). volunteers/me is their own record; to a staff token, which
// names no volunteer, it is a bad name.
func TestVolunteerMe(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Morag", "AB10 1AF"))
	h.createVol(matchVolunteer("Callum", "AB10 1AF", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "morag", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}))
	got, err := pb.NewVolunteerServiceClient(conn).GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: "volunteers/me"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Volunteer.Name != vol.Name || got.Volunteer.Contact.GetDisplayName() != "Morag" {
		t.Errorf("volunteers/me = %s (%s), want %s", got.Volunteer.Name, got.Volunteer.Contact.GetDisplayName(), vol.Name)
	}
	_, err = h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: "volunteers/me"})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "name" {
		t.Errorf("volunteers/me with an admin token: %v", err)
	}
}
