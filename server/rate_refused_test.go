package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestRefusedCallsAreRateLimited: a runaway script whose token may not
// make the call it repeats (a partner's importer pointed at ListVolunteers,
// a stolen volunteer token trying what it can) costs the server a token
// lookup per call all the same; the calls count against the token's rate
// like any other, so the loop is slowed down rather than served at full
// speed for ever.
func TestRefusedCallsAreRateLimited(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(1, 10))
	vol := h.createVol(validVolunteer())
	for _, tok := range []*pb.Token{
		{DisplayName: "stolen phone", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name},
		{DisplayName: "misconfigured importer", Role: pb.Role_ROLE_HELPLINE},
	} {
		c := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, tok)))
		got := map[codes.Code]int{}
		for range 50 {
			_, err := c.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: vol.Name})
			got[status.Code(err)]++
		}
		if got[codes.ResourceExhausted] == 0 || got[codes.PermissionDenied]+got[codes.ResourceExhausted] != 50 {
			t.Errorf("%s: 50 refused calls at once, burst 10: %v, want RESOURCE_EXHAUSTED after the burst", tok.DisplayName, got)
		}
	}
}
