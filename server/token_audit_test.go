package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestTokensOnTheAuditTrail: after a breach the first question is who
// issued or withdrew which credential. Each token made or revoked is on
// its own trail (tokens/ID) with the admin who did it; a refused
// revocation writes nothing.
func TestTokensOnTheAuditTrail(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	self := h.tokenName("test admin")
	made, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "helpline desk 3", Role: pb.Role_ROLE_HELPLINE}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: made.Token.Name}); err != nil {
		t.Fatal(err)
	}
	_, err = admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: made.Token.Name})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonWrongState)

	resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: made.Token.Name})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.AuditRecords {
		got = append(got, r.Action)
		if r.Actor != self || r.Role != pb.Role_ROLE_ADMIN || r.Resource != made.Token.Name {
			t.Errorf("record %v: want actor %s, role admin, resource %s", r, self, made.Token.Name)
		}
	}
	if len(got) != 2 || got[0] != "revoke" || got[1] != "create" {
		t.Errorf("the token's trail, newest first: %v, want [revoke create] (the refused revocation writes nothing)", got)
	}
	if _, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Action: "revoke"}); err != nil {
		t.Errorf("filter by action revoke: %v", err)
	}
}

// TestFirstAdminTokenOnTheAuditTrail: the token the server makes on an
// empty file is on record as the server's own act.
func TestFirstAdminTokenOnTheAuditTrail(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if secret, err := server.BootstrapAdminToken(ctx, st); err != nil || secret == "" {
		t.Fatalf("bootstrap: %q, %v", secret, err)
	}
	toks, _, err := st.ListTokens(ctx, store.Page{Size: 10})
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens %v, %v", toks, err)
	}
	recs, _, err := st.ListAuditRecords(ctx, store.AuditFilter{Resource: toks[0].Name}, store.Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Actor != "system" || recs[0].Action != "create" {
		t.Errorf("the first admin token's trail: %v, want one create by system", recs)
	}
}

// TestEndedVolunteersTokensOnTheAuditTrail: a volunteer's deletion or
// erasure revokes their tokens, and a token revoked so was on no trail:
// after a breach, `doorstep admin audit --resource tokens/ID` showed it
// made and never withdrawn while the token list showed it revoked. The
// revocation is on the token's trail, by whoever ended the volunteer,
// naming no one.
func TestEndedVolunteersTokensOnTheAuditTrail(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	self := h.tokenName("test admin")
	for _, tc := range []struct {
		how   string
		phone string
		end   func(vol *pb.Volunteer) error
	}{
		{"deleted", "07700 900771", func(vol *pb.Volunteer) error {
			_, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: vol.Name})
			return err
		}},
		{"erased", "07700 900772", func(*pb.Volunteer) error {
			_, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900772"})
			return err
		}},
	} {
		t.Run(tc.how, func(t *testing.T) {
			const name = "Canary-Tok-91f3 Reid"
			vol := h.createVol(matchVolunteer(name, "AB10 1AB", phoned(tc.phone)))
			made, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: name, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.end(vol); err != nil {
				t.Fatal(err)
			}
			resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: made.Token.Name})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range resp.AuditRecords {
				got = append(got, r.Action)
				if r.Actor != self || r.Role != pb.Role_ROLE_ADMIN {
					t.Errorf("record %v: want actor %s, role admin", r, self)
				}
				if strings.Contains(prototext.Format(r), "Canary-Tok") {
					t.Errorf("record %v holds the token's name", r)
				}
			}
			if len(got) != 2 || got[0] != "revoke" || got[1] != "create" {
				t.Errorf("the %s volunteer's token's trail, newest first: %v, want [revoke create]", tc.how, got)
			}
		})
	}
}
