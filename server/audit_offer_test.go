package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOffersAreAudited: the morning after, a caller asks why a volunteer
// from across town was sent to their mother, and staff did not expect
// them. Whoever sent them (a helpline worker's offer by hand, a
// coordinator's dispatch run, or the server's own run on its interval) is
// on the request's audit trail, as each later step of it is (accept,
// decline, release...), after the event log has let the offer go. An
// offer refused is not.
func TestOffersAreAudited(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	tokenFor := func(tok *pb.Token) (string, pb.MatchingServiceClient) {
		t.Helper()
		resp, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Token.Name, pb.NewMatchingServiceClient(h.as(resp.Secret))
	}
	deskName, desk := tokenFor(&pb.Token{DisplayName: "Helpline desk 1", Role: pb.Role_ROLE_HELPLINE})
	coordName, coord := tokenFor(&pb.Token{DisplayName: "Night coordinator", Role: pb.Role_ROLE_COORDINATOR})

	byHand := h.createHR(shopping(callerPhone("01224 100001")))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	if _, err := desk.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: byHand.Name, Volunteer: ann.Name}); err != nil {
		t.Fatal(err)
	}
	// Refused: Ann has no room left.
	refused := h.createHR(shopping(callerPhone("01224 100002")))
	if _, err := desk.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: refused.Name, Volunteer: ann.Name}); err == nil {
		t.Fatal("an offer to a volunteer with no room was made")
	}
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: refused.Name}); err != nil {
		t.Fatal(err)
	}

	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900202" }))
	onDemand := h.createHR(shopping(callerPhone("01224 100003")))
	if resp, err := coord.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil || resp.OffersMade != 1 {
		t.Fatalf("dispatch on demand: %v %v", resp, err)
	}

	cal := h.createVol(matchVolunteer("Cal", "AB11 5QN", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900203" }))
	overnight := h.createHR(shopping(callerPhone("01224 100004")))
	if err := h.dispatchedByInterval(t, overnight.Name, 20*time.Millisecond); !errors.Is(err, context.Canceled) {
		t.Fatalf("Maintain returned %v", err)
	}

	for _, tc := range []struct {
		name, request, volunteer, actor string
		role                            pb.Role
		method                          string
	}{
		{"by hand", byHand.Name, ann.Name, deskName, pb.Role_ROLE_HELPLINE, "/doorstep.v1.MatchingService/CreateOffer"},
		{"refused", refused.Name, ann.Name, "", 0, ""},
		{"dispatch on demand", onDemand.Name, bob.Name, coordName, pb.Role_ROLE_COORDINATOR, "/doorstep.v1.MatchingService/Dispatch"},
		{"dispatch on the interval", overnight.Name, cal.Name, "system", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: tc.request})
			if err != nil {
				t.Fatal(err)
			}
			var got []*pb.AuditRecord
			for _, r := range resp.AuditRecords {
				if r.Action == "offer" {
					got = append(got, r)
				}
			}
			switch {
			case tc.actor == "" && len(got) != 0:
				t.Errorf("a refused offer of %s is on its trail: %v", tc.request, got)
			case tc.actor == "":
			case len(got) != 1:
				t.Errorf("the offer of %s to %s: %d offer records on its trail, want 1 (trail: %v)", tc.request, tc.volunteer, len(got), resp.AuditRecords)
			case got[0].Actor != tc.actor || got[0].Role != tc.role || got[0].Method != tc.method:
				t.Errorf("the offer of %s on its trail: %v, want by %s (%v) through %q", tc.request, got[0], tc.actor, tc.role, tc.method)
			}
		})
	}
}
