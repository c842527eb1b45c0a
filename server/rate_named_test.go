package server_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestRateLimitedTokenIsNamed: in a county's deployment, one group's
// runaway script (a partner's importer stuck in a loop of lookups) met
// RESOURCE_EXHAUSTED, and the operator saw only the count of refusals go
// up: no log line and no metric said whose token it was, so the group
// could not be told, nor the token revoked. The first refusal of a token
// is now logged at warning level naming the token, its role and its
// organisation (never its secret), and then at most one line a minute
// with how many were refused since; a token within its rate is not named.
func TestRateLimitedTokenIsNamed(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(1, 5))
	admin := pb.NewAdminServiceClient(h.conn)
	if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/granite-food-bank", DisplayName: "Granite City Food Bank"}}); err != nil {
		t.Fatal(err)
	}
	runaway, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "food bank importer", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-food-bank"}})
	if err != nil {
		t.Fatal(err)
	}
	calm, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "helpline desk 1", Role: pb.Role_ROLE_HELPLINE}})
	if err != nil {
		t.Fatal(err)
	}

	gz := pb.NewGazetteerServiceClient(h.as(runaway.Secret))
	refused := 0
	for range 40 {
		_, err := gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
		if status.Code(err) == codes.ResourceExhausted {
			refused++
		}
	}
	for range 3 {
		if _, err := pb.NewGazetteerServiceClient(h.as(calm.Secret)).LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
			t.Fatalf("a helpline within its rate: %v", err)
		}
	}
	if refused == 0 {
		t.Fatal("40 calls at once, burst 5: none refused")
	}

	lines := h.logs.FilterMessage("calls refused: token over its rate limit").All()
	if len(lines) != 1 {
		t.Fatalf("%d calls refused for the rate, %d lines naming the token, want 1", refused, len(lines))
	}
	got := lines[0].ContextMap()
	want := map[string]any{"token": runaway.Token.Name, "role": "partner", "organisation": "granite-food-bank"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("log field %s = %v, want %v", k, got[k], v)
		}
	}
	for _, e := range h.logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		if strings.Contains(line, runaway.Secret) || strings.Contains(line, calm.Token.Name) {
			t.Errorf("log line names a secret or the token within its rate: %s", line)
		}
	}
}

// TestImportLogNamesItsToken: a county's server logged each partner's
// batch as "batch create" with its counts alone; with thirty groups'
// importers, the operator could not tell whose intake of thousands of rows
// the write load was. The line names the token and its organisation.
func TestImportLogNamesItsToken(t *testing.T) {
	h := newHarness(t)
	conn := h.partnerConn()
	var rows []*pb.HelpRequest
	for i := range 3 {
		hr := validHelpRequest()
		hr.ExternalId = fmt.Sprintf("intake-%d", i)
		hr.Requester.Phone = fmt.Sprintf("01224 12345%d", i)
		rows = append(rows, hr)
	}
	if _, err := pb.NewHelpRequestServiceClient(conn).BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows}); err != nil {
		t.Fatal(err)
	}
	lines := h.logs.FilterMessage("batch create").All()
	if len(lines) != 1 {
		t.Fatalf("%d batch create lines, want 1", len(lines))
	}
	got := lines[0].ContextMap()
	if tok, _ := got["token"].(string); !strings.HasPrefix(tok, "tokens/") || got["role"] != "partner" || got["organisation"] != "aberdeen-mutual-aid" {
		t.Errorf("batch create line = %v, want the partner's token, role and organisation", got)
	}
}
