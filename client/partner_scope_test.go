package client_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// partnerClient dials s with a new partner token of organisation org.
func partnerClient(t *testing.T, s *testServer, org string) *client.Client {
	t.Helper()
	secret, hash, err := server.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if _, err := st.CreateToken(context.Background(), &pb.Token{DisplayName: "partner " + org, Role: pb.Role_ROLE_PARTNER, Organisation: org}, hash, false); err != nil {
		t.Fatal(err)
	}
	c, err := s.dial(client.WithToken(secret), client.WithRetry(4, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRequestIDIsNotSharedAcrossPartners: a partner's request_ids are its
// own. Two food banks that derive request_ids the same way (a UUIDv5 of
// their own record number, a common way to make retries idempotent across
// restarts) each get their own request stored, and neither is handed the
// other's record with its personal data.
func TestRequestIDIsNotSharedAcrossPartners(t *testing.T) {
	s := newTestServer(t)
	a := partnerClient(t, s, "torry-food-bank")
	b := partnerClient(t, s, "granite-city-food-bank")
	ctx := context.Background()
	const id = "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"

	hrA := helpRequest("", "1001")
	hrB := proto.Clone(hrA).(*pb.HelpRequest) // same shape of record at another food bank
	respA, err := a.HelpRequests.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hrA, RequestId: id})
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	respB, err := b.HelpRequests.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hrB, RequestId: id})
	if err != nil {
		t.Fatalf("partner B's create refused because partner A used the same request_id: %s", client.Describe(err))
	}
	if got := respB.GetHelpRequest(); got.GetOrganisation() != "granite-city-food-bank" || got.GetName() == respA.GetHelpRequest().GetName() {
		t.Errorf("partner B was handed partner A's request %s (organisation %q) instead of its own", got.GetName(), got.GetOrganisation())
	}
	if n := s.countStored(t); n != 2 {
		t.Errorf("%d requests stored, want one per partner", n)
	}
}

// TestImportOwnOrganisationInCapitals: the server takes organisations in
// any case (it lower-cases them), so a partner's rows naming its own
// organisation as "Torry-Food-Bank" are its own, not refused with
// PERMISSION_DENIED.
func TestImportOwnOrganisationInCapitals(t *testing.T) {
	s := newTestServer(t)
	p := partnerClient(t, s, "torry-food-bank")
	rows := []*pb.HelpRequest{helpRequest("Torry-Food-Bank", "case-1")}
	results, err := p.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	if e := results[0].GetError(); e != nil {
		t.Errorf("partner's own organisation in capitals refused: %s", client.DescribeRow(e))
	}
}
