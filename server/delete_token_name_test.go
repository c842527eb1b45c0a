package server_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDeletedVolunteersTokenLosesTheirName: deleting a volunteer drops
// their contact details, and with the record gone an erasure by their
// phone finds nothing of theirs. The token an admin named after them
// must not go on bearing that name in ListTokens, where nothing could
// ever remove it.
func TestDeletedVolunteersTokenLosesTheirName(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	const name = "Canary-Del-7c2e Reid"
	vol := h.createVol(matchVolunteer(name, "AB10 1AB", phoned("07700 900777")))
	if _, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: name, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: vol.Name}); err != nil {
		t.Fatal(err)
	}
	// The person then asks for their data to be erased.
	if _, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"}); err != nil {
		t.Fatal(err)
	}
	toks, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks.Tokens {
		if tk.Volunteer == vol.Name && (tk.RevokeTime == nil || strings.Contains(tk.DisplayName, name)) {
			t.Errorf("token %s of the deleted volunteer: revoked %v, display name %q", tk.Name, tk.RevokeTime, tk.DisplayName)
		}
	}
}

// TestTokenNotNamedAsAnEndedOne: the names an ended volunteer's tokens
// are given are not for live tokens, which a listing would then show as
// ended, and whose name the store would neither seal nor replace.
func TestTokenNotNamedAsAnEndedOne(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	vol := h.createVol(matchVolunteer("Ailsa Reid", "AB10 1AB", phoned("07700 900778")))
	for _, tc := range []struct {
		name string
		tok  *pb.Token
	}{
		{"deleted", &pb.Token{DisplayName: "deleted volunteer", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}},
		{"erased, in capitals", &pb.Token{DisplayName: " Erased Volunteer", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}},
		{"helpline", &pb.Token{DisplayName: "deleted volunteer", Role: pb.Role_ROLE_HELPLINE}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: tc.tok})
			if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"token.display_name"}) {
				t.Errorf("CreateToken = %v %v, want INVALID_ARGUMENT naming token.display_name", code, fields)
			}
		})
	}
	toks, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks.Tokens {
		if strings.Contains(strings.ToLower(tk.DisplayName), "volunteer") {
			t.Errorf("a refused token was stored: %q", tk.DisplayName)
		}
	}
}
