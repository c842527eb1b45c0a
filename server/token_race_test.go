package server_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// volunteerGoneAfterRead is a store that, once armed, erases the
// volunteer right after CreateToken's handler has read it: an erasure
// landing between the check and the token's write.
type volunteerGoneAfterRead struct {
	store.Store
	armed *bool
	phone string
}

func (g volunteerGoneAfterRead) GetVolunteer(ctx context.Context, id string) (*pb.Volunteer, error) {
	v, err := g.Store.GetVolunteer(ctx, id)
	if *g.armed {
		*g.armed = false
		if _, err := g.Store.ErasePerson(ctx, g.phone, v.GetUpdateTime().AsTime()); err != nil {
			return nil, err
		}
	}
	return v, err
}

// TestTokenForAVolunteerErasedMeanwhile: a volunteer token is bound to a
// record that must still exist when the token is written. One made while
// the volunteer is being erased would outlive the erasure working, and
// bearing the erased person's name, which the erasure took off every
// token it could see.
func TestTokenForAVolunteerErasedMeanwhile(t *testing.T) {
	h := newHarness(t)
	armed := false
	h.wrap = func(st store.Store) store.Store {
		return volunteerGoneAfterRead{Store: st, armed: &armed, phone: "+447700900888"}
	}
	h.reopen()
	const name = "Canary-Race-5e1a Reid"
	vol := h.createVol(matchVolunteer(name, "AB10 1AB", phoned("07700 900888")))
	armed = true
	admin := pb.NewAdminServiceClient(h.conn)
	resp, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: name, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name}})
	if armed {
		t.Fatal("the erasure never ran")
	}
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "token.volunteer" {
		t.Errorf("a token for a volunteer erased meanwhile: %v %v, want INVALID_ARGUMENT on token.volunteer", resp, err)
	}
	toks, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks.Tokens {
		if tk.Volunteer == vol.Name && (tk.RevokeTime == nil || strings.Contains(tk.DisplayName, name)) {
			t.Errorf("token %s of the erased volunteer: revoked %v, display name %q", tk.Name, tk.RevokeTime, tk.DisplayName)
		}
	}
}
