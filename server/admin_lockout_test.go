package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestLastAdminTokenIsNotRevoked: the server makes an admin token only on
// an empty data file, so revoking the last one that works would leave no
// way to make tokens, export or erase ever again. That revocation is
// refused and changes nothing; with another working admin token, it goes.
func TestLastAdminTokenIsNotRevoked(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	self := h.tokenName("test admin")
	// An expired or revoked admin token cannot stand in for it.
	h.newToken(h.st, &pb.Token{DisplayName: "old admin", Role: pb.Role_ROLE_ADMIN, ExpireTime: ts(-time.Hour)})
	gone, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "gone admin", Role: pb.Role_ROLE_ADMIN}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: gone.Token.Name}); err != nil {
		t.Fatal(err)
	}

	_, err = admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: self})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonLastAdminToken)
	if _, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{}); err != nil {
		t.Fatalf("the last admin token after a refused revocation: %v", err)
	}

	next, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "next admin", Role: pb.Role_ROLE_ADMIN}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeToken(h.ctx, &pb.RevokeTokenRequest{Name: self}); err != nil {
		t.Fatalf("revoke with another admin token working: %v", err)
	}
	if _, err := pb.NewAdminServiceClient(h.as(next.Secret)).ListTokens(h.ctx, &pb.ListTokensRequest{}); err != nil {
		t.Fatal(err)
	}
}
