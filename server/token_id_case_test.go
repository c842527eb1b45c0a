package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerTokenNamedInCapitals: ids are taken in either case, so an
// admin may make a volunteer's token naming them in capitals (copied from
// a printout). The token must act as that volunteer, whose record is named
// in lower case, and end with them: deleted or erased, their token must
// stop working and lose the name the admin gave it, their own.
func TestVolunteerTokenNamedInCapitals(t *testing.T) {
	for _, erase := range []bool{false, true} {
		h := newHarness(t)
		admin := pb.NewAdminServiceClient(h.conn)
		const name = "Canary-Caps-3f9d Reid"
		vol := h.createVol(matchVolunteer(name, "AB10 1AB", phoned("07700 900555")))
		caps := "volunteers/" + strings.ToUpper(strings.TrimPrefix(vol.Name, "volunteers/"))
		made, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: name, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: caps}})
		if err != nil {
			t.Fatal(err)
		}
		if made.Token.Volunteer != vol.Name {
			t.Errorf("the token acts as %q, not as %q", made.Token.Volunteer, vol.Name)
		}
		if erase {
			_, err = admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900555"})
		} else {
			_, err = h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: vol.Name})
		}
		if err != nil {
			t.Fatal(err)
		}
		toks, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range toks.Tokens {
			if tk.Name == made.Token.Name && (tk.RevokeTime == nil || strings.Contains(tk.DisplayName, name)) {
				t.Errorf("erase %v: token %s of the volunteer gone: revoked %v, display name %q", erase, tk.Name, tk.RevokeTime, tk.DisplayName)
			}
		}
	}
}
