package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRequestIDReplayStaysInItsOrganisation: request ids are scoped to
// the partner organisation. A referral forwarded to two partners under one
// referral UUID (used as request_id, as AIP-155 suggests) is stored for
// each; the second partner is never handed the first's record, nor what
// staff have written into it since (here, a safeguarding note).
func TestRequestIDReplayStaysInItsOrganisation(t *testing.T) {
	h := newHarness(t)
	a := pb.NewHelpRequestServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "a", Role: pb.Role_ROLE_PARTNER, Organisation: "granite-foodbank"})))
	b := pb.NewHelpRequestServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "b", Role: pb.Role_ROLE_PARTNER, Organisation: "other-food-bank"})))
	const referral = "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"
	referred := validHelpRequest()
	referred.Organisation = "" // a partner's token fills in its own
	body := func() *pb.HelpRequest { return proto.Clone(referred).(*pb.HelpRequest) }
	first, err := a.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: body(), RequestId: referral})
	if err != nil {
		t.Fatal(err)
	}
	// Staff add a note to partner A's request.
	const note = "Son is violent: never mention the visit to him"
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: first.HelpRequest.Name, Details: note},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}}); err != nil {
		t.Fatal(err)
	}
	// B may not read A's request...
	if _, err := b.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: first.HelpRequest.Name}); status.Code(err) != codes.NotFound {
		t.Fatalf("partner B reads A's request: %v", err)
	}
	// B's create under the same request_id stores B's own request.
	got, err := b.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: body(), RequestId: referral})
	if err != nil {
		t.Fatalf("partner B's create: %v", err)
	}
	r := got.HelpRequest
	if r.Name == first.HelpRequest.Name || r.Organisation != "other-food-bank" || r.Details == note {
		t.Errorf("partner B's create answered %s of %s, details %q; want its own new request", r.Name, r.Organisation, r.Details)
	}
	if _, err := b.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: r.Name}); err != nil {
		t.Errorf("partner B was told its request %s was created, but cannot read it: %v", r.Name, err)
	}
	// Each partner's retry still finds its own.
	for _, c := range []struct {
		client pb.HelpRequestServiceClient
		want   string
	}{{a, first.HelpRequest.Name}, {b, r.Name}} {
		again, err := c.client.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: body(), RequestId: referral})
		if err != nil || again.HelpRequest.Name != c.want {
			t.Errorf("retry: %v (%v), want %s", again.GetHelpRequest().GetName(), err, c.want)
		}
	}
}
