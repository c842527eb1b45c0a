package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOldVolunteerTokenInCapitalsActsAsThem: a volunteer token stored
// naming its volunteer in capitals, as CreateToken wrote an id given so
// before it lower-cased them, is the volunteer's all the same: their app
// reads their own record with it.
func TestOldVolunteerTokenInCapitalsActsAsThem(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(validVolunteer())
	caps := "volunteers/" + strings.ToUpper(strings.TrimPrefix(vol.Name, "volunteers/"))
	secret := h.newToken(h.st, &pb.Token{DisplayName: "their phone", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: caps})
	if _, err := pb.NewVolunteerServiceClient(h.as(secret)).GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: vol.Name}); err != nil {
		t.Errorf("the volunteer's own record with their token: %v", err)
	}
}
