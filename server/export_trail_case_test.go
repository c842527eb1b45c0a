package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestExportTokensNamedInCapitals: a volunteer token stored naming its
// volunteer in capitals (as CreateToken once wrote an id given so) bears
// the volunteer's name as much as one in lower case, and is exported.
func TestExportTokensNamedInCapitals(t *testing.T) {
	h := newHarness(t)
	v := validVolunteer()
	v.Contact = &pb.Contact{DisplayName: "Ann Volunteer", Phone: "07700 900777"}
	vol := h.createVol(v)
	caps := "volunteers/" + strings.ToUpper(strings.TrimPrefix(vol.Name, "volunteers/"))
	h.newToken(h.st, &pb.Token{DisplayName: "Ann's phone", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: caps})
	exp, err := pb.NewAdminServiceClient(h.conn).ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "07700 900777"})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Tokens) != 1 || exp.Tokens[0].DisplayName != "Ann's phone" {
		t.Errorf("tokens %v, want Ann's phone", exp.Tokens)
	}
}
