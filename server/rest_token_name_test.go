package server_test

import (
	"bytes"
	"os"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A volunteer's token bears their name (doorstep admin token create
// --role volunteer --name 'Callum Reid'), and the README says names are
// encrypted at rest. Someone with the data file alone, a stolen disk or
// a backup without its key file, must not read it, while the token is in
// use or once it was revoked; admins still see it in listings.
func TestVolunteerTokenNameSealedAtRest(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	const name = "Tokname-Canary Reid"
	vol := h.createVol(validVolunteer())
	made, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: name, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}})
	if err != nil {
		t.Fatal(err)
	}
	if made.Token.DisplayName != name {
		t.Errorf("created token named %q, want %q", made.Token.DisplayName, name)
	}
	inFile := func(when string) {
		t.Helper()
		raw, err := os.ReadFile(h.path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(name)) {
			t.Errorf("%s: the data file holds the volunteer's name in the clear", when)
		}
	}
	listed := func(when string) {
		t.Helper()
		resp, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range resp.Tokens {
			if tk.Name == made.Token.Name && tk.DisplayName != name {
				t.Errorf("%s: listed as %q, want %q", when, tk.DisplayName, name)
			}
		}
	}
	inFile("token made")
	listed("token made")
	revoked, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: made.Token.Name})
	if err != nil {
		t.Fatal(err)
	}
	if revoked.Token.DisplayName != name {
		t.Errorf("revoke answered %q, want %q", revoked.Token.DisplayName, name)
	}
	h.reopen()
	admin = pb.NewAdminServiceClient(h.conn)
	inFile("token revoked, server restarted")
	listed("token revoked, server restarted")
	exp, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: vol.Contact.Phone})
	if err != nil || len(exp.Tokens) != 1 || exp.Tokens[0].DisplayName != name {
		t.Errorf("export: %v %v", exp.GetTokens(), err)
	}
}
