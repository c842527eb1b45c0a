package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestUnreadCallsRefusedTokenIsNamed: a token refused RATE_LIMITED for its
// calls still sending their message (a leaked token holding the server's
// memory, or a partner's importer on a slow line) was counted in the
// metrics but named in no log line, though README's rate row says the
// first refusal names the token: the operator saw refusals, and memory
// held, and could not tell whose token to revoke. It is named as a token
// over its rate is, once, never with its secret.
func TestUnreadCallsRefusedTokenIsNamed(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(100, 5))
	ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
	defer cancel()
	admin := pb.NewAdminServiceClient(h.conn)
	if _, err := admin.CreateOrganisation(ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/granite-food-bank", DisplayName: "Granite City Food Bank"}}); err != nil {
		t.Fatal(err)
	}
	importer, err := admin.CreateToken(ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "food bank importer", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-food-bank"}})
	if err != nil {
		t.Fatal(err)
	}
	conn := h.as(importer.Secret)
	holdUnread(t, ctx, conn, server.MinUnreadCalls)
	for range 3 {
		_, err := pb.NewHelpRequestServiceClient(conn).ListHelpRequests(ctx, &pb.ListHelpRequestsRequest{})
		if !unreadRefusal(err) {
			t.Fatalf("a call with %d of the token's unread: %v, want the unread refusal", server.MinUnreadCalls, err)
		}
	}
	lines := h.logs.FilterMessage("calls refused: token over its rate limit").All()
	if len(lines) != 1 {
		t.Fatalf("3 calls refused for the token's unread calls, %d lines naming the token, want 1", len(lines))
	}
	got := lines[0].ContextMap()
	want := map[string]any{"token": importer.Token.Name, "role": "partner", "organisation": "granite-food-bank", "refused": int64(1)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("log field %s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}
	for _, e := range h.logs.All() {
		if line := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(line, importer.Secret) {
			t.Errorf("log line names the secret: %s", line)
		}
	}
}
