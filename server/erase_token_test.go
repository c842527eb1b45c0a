package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestErasedVolunteersTokenEnds: erasing a volunteer deletes their record
// and ends the volunteer token bound to it (named, as the README shows,
// after the volunteer): it no longer authenticates, and it is listed
// revoked, without the erased person's name.
func TestErasedVolunteersTokenEnds(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	const canary = "Canary-Tok-4b1d Reid"
	vol := h.createVol(matchVolunteer(canary, "AB10 1AB", phoned("07700 900666")))
	hr := h.createHR(shopping(callerPhone("01224 000010")))
	o := h.offer(hr.Name, vol.Name)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: canary, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900666"})
	if err != nil || resp.VolunteersErased != 1 {
		t.Fatalf("erase: %v %v", resp, err)
	}
	m := pb.NewMatchingServiceClient(h.as(tok.Secret))
	offers, err := m.ListOffers(h.ctx, &pb.ListOffersRequest{})
	if code := status.Code(err); code != codes.Unauthenticated && code != codes.PermissionDenied {
		t.Errorf("the erased volunteer's token still works: ListOffers = %d offers, %v", len(offers.GetOffers()), err)
	}
	toks, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks.Tokens {
		if tk.Volunteer == vol.Name && (tk.RevokeTime == nil || strings.Contains(tk.DisplayName, canary)) {
			t.Errorf("token %s of the erased volunteer: revoked %v, display name %q", tk.Name, tk.RevokeTime, tk.DisplayName)
		}
	}
	// That no live record keeps the name is store's test
	// (TestVolunteerTokensEndWithTheVolunteer); a stale copy in a page bbolt
	// freed may remain until the page is reused (store/doc.go, Not covered).
}
