package server_test

import (
	"testing"

	"google.golang.org/grpc"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestLifecycleStepsAreAudited: a request was marked done, cancelled or
// handed back by mistake, or an offer accepted or declined on the wrong
// volunteer's behalf, and the admin putting it right asks who did it, and
// when, after the event log has let it go. Each step a person takes is on
// the request's audit trail, naming the token, its role and the call; a
// step refused is not.
func TestLifecycleStepsAreAudited(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	tokenFor := func(tok *pb.Token) (string, *grpc.ClientConn) {
		t.Helper()
		resp, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Token.Name, h.as(resp.Secret)
	}
	coordName, coordConn := tokenFor(&pb.Token{DisplayName: "Coordinator", Role: pb.Role_ROLE_COORDINATOR})
	deskName, deskConn := tokenFor(&pb.Token{DisplayName: "Helpline desk 1", Role: pb.Role_ROLE_HELPLINE})
	vol := h.createVol(matchVolunteer("Callum", "AB10 1AB", func(v *pb.Volunteer) { v.Capacity = 3 }))
	volName, volConn := tokenFor(&pb.Token{DisplayName: "Callum", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name})
	coord, desk, own := pb.NewMatchingServiceClient(coordConn), pb.NewMatchingServiceClient(deskConn), pb.NewMatchingServiceClient(volConn)

	done := h.createHR(shopping())
	handedBack := h.createHR(shopping(callerPhone("01224 765432")))
	said := h.createHR(shopping(callerPhone("01224 765433")))
	for _, step := range []func() error{
		func() error {
			_, err := coord.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(done.Name, vol.Name).Name})
			return err
		},
		func() error {
			_, err := desk.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: done.Name})
			return err
		},
		func() error {
			_, err := own.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(handedBack.Name, vol.Name).Name})
			return err
		},
		func() error {
			_, err := coord.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: handedBack.Name})
			return err
		},
		func() error {
			_, err := desk.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: h.offer(said.Name, vol.Name).Name})
			return err
		},
		func() error {
			_, err := coord.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: said.Name})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	// Refused: a request done already is neither cancelled nor released.
	if _, err := desk.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: done.Name}); err == nil {
		t.Fatal("a fulfilled request was cancelled")
	}
	if _, err := coord.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: done.Name}); err == nil {
		t.Fatal("a fulfilled request was released")
	}

	for _, tc := range []struct {
		request, action, actor string
		role                   pb.Role
		method                 string
	}{
		{done.Name, "accept", coordName, pb.Role_ROLE_COORDINATOR, "AcceptOffer"},
		{done.Name, "complete", deskName, pb.Role_ROLE_HELPLINE, "CompleteHelpRequest"},
		{done.Name, "cancel", "", 0, ""},
		{done.Name, "release", "", 0, ""},
		{handedBack.Name, "accept", volName, pb.Role_ROLE_VOLUNTEER, "AcceptOffer"},
		{handedBack.Name, "release", coordName, pb.Role_ROLE_COORDINATOR, "ReleaseHelpRequest"},
		{said.Name, "decline", deskName, pb.Role_ROLE_HELPLINE, "DeclineOffer"},
		{said.Name, "cancel", coordName, pb.Role_ROLE_COORDINATOR, "CancelHelpRequest"},
	} {
		resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: tc.request, Action: tc.action})
		if err != nil {
			t.Fatalf("audit of %s, action %s: %v", tc.request, tc.action, err)
		}
		got := resp.AuditRecords
		switch {
		case tc.actor == "" && len(got) != 0:
			t.Errorf("%s of %s, refused, is on its audit trail: %v", tc.action, tc.request, got)
		case tc.actor == "":
		case len(got) != 1:
			t.Errorf("%s of %s by %s: %d records on its audit trail, want 1: %v", tc.action, tc.request, tc.actor, len(got), got)
		case got[0].Actor != tc.actor || got[0].Role != tc.role || got[0].Method != "/doorstep.v1.MatchingService/"+tc.method:
			t.Errorf("%s of %s on its trail: %v, want by %s (%v) through %s", tc.action, tc.request, got[0], tc.actor, tc.role, tc.method)
		}
	}
}
