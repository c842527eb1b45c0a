package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOtherGroupsIDsAnswerAsMissingOnes: a partner holding another group's
// request ids (offered, assigned), and a volunteer holding another
// volunteer's offer, assignment and record, try every call their token
// may make on them, with and without etags, stale and current. Each
// answer, code, message and every detail (the ErrorInfo's reason and
// metadata, any field violation), is the one an id that does not exist
// gets, the id aside: nothing in it says the record is there.
func TestOtherGroupsIDsAnswerAsMissingOnes(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222"), func(v *pb.Volunteer) { v.Organisation, v.Capacity = "ferryhill-helpers", 2 }))
	theirs := func(a, b int, phone string) *pb.HelpRequest {
		return h.createHR(shopping(hours(time.Duration(a), time.Duration(b)), callerPhone(phone), func(r *pb.HelpRequest) { r.Organisation = "ferryhill-helpers" }))
	}
	assigned := theirs(1, 3, "01224 222222")
	accepted, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(assigned.Name, bob.Name).Name})
	if err != nil {
		t.Fatal(err)
	}
	offered := theirs(30, 32, "01224 333333")
	pending := h.offer(offered.Name, bob.Name)
	// Read after the offers: the etags as they stand.
	assigned, offered = h.getHR(assigned.Name), h.getHR(offered.Name)
	bobNow := h.getVol(bob.Name)

	partnerConn := h.partnerConn()
	pHR := pb.NewHelpRequestServiceClient(partnerConn)
	pMatch := pb.NewMatchingServiceClient(partnerConn)
	annConn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "Ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name}))
	vHR, vMatch, vVol := pb.NewHelpRequestServiceClient(annConn), pb.NewMatchingServiceClient(annConn), pb.NewVolunteerServiceClient(annConn)

	type call func(ctx context.Context, name, etag string) error
	mask := func(p ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: p} }
	calls := map[string]call{
		"partner get": func(ctx context.Context, name, _ string) error {
			_, err := pHR.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: name})
			return err
		},
		"partner update": func(ctx context.Context, name, etag string) error {
			_, err := pHR.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: name, Details: "x", Etag: etag}, UpdateMask: mask("details")})
			return err
		},
		"partner update of the phone": func(ctx context.Context, name, etag string) error {
			_, err := pHR.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: name, Requester: &pb.Contact{Phone: "07700 900222"}, Etag: etag}, UpdateMask: mask("requester.phone")})
			return err
		},
		"partner update of the time": func(ctx context.Context, name, etag string) error {
			r := &pb.HelpRequest{Name: name, Etag: etag}
			hours(31, 33)(r)
			_, err := pHR.UpdateHelpRequest(ctx, &pb.UpdateHelpRequestRequest{HelpRequest: r, UpdateMask: mask("window")})
			return err
		},
		"partner delete": func(ctx context.Context, name, etag string) error {
			_, err := pHR.DeleteHelpRequest(ctx, &pb.DeleteHelpRequestRequest{Name: name, Etag: etag})
			return err
		},
		"partner cancel": func(ctx context.Context, name, _ string) error {
			_, err := pMatch.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: name})
			return err
		},
		"volunteer get": func(ctx context.Context, name, _ string) error {
			_, err := vHR.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: name})
			return err
		},
		"volunteer complete": func(ctx context.Context, name, _ string) error {
			_, err := vMatch.CompleteHelpRequest(ctx, &pb.CompleteHelpRequestRequest{Name: name})
			return err
		},
		"volunteer release": func(ctx context.Context, name, _ string) error {
			_, err := vMatch.ReleaseHelpRequest(ctx, &pb.ReleaseHelpRequestRequest{Name: name})
			return err
		},
	}
	offerCalls := map[string]call{
		"volunteer get offer": func(ctx context.Context, name, _ string) error {
			_, err := vMatch.GetOffer(ctx, &pb.GetOfferRequest{Name: name})
			return err
		},
		"volunteer accept": func(ctx context.Context, name, etag string) error {
			_, err := vMatch.AcceptOffer(ctx, &pb.AcceptOfferRequest{Name: name, HelpRequestEtag: etag})
			return err
		},
		"volunteer decline": func(ctx context.Context, name, _ string) error {
			_, err := vMatch.DeclineOffer(ctx, &pb.DeclineOfferRequest{Name: name})
			return err
		},
	}
	volCalls := map[string]call{
		"volunteer get volunteer": func(ctx context.Context, name, _ string) error {
			_, err := vVol.GetVolunteer(ctx, &pb.GetVolunteerRequest{Name: name})
			return err
		},
		"volunteer update volunteer": func(ctx context.Context, name, etag string) error {
			_, err := vVol.UpdateVolunteer(ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: name, Paused: true, Etag: etag}, UpdateMask: mask("paused")})
			return err
		},
	}
	const ghostID = "01arz3ndektsv4rrffq69g5fav"
	answer := func(err error, name string) string {
		return strings.ReplaceAll(prototext.Format(status.Convert(err).Proto()), name, "NAME")
	}
	try := func(what string, c call, name, ghost string, etags []string) {
		t.Helper()
		for _, etag := range etags {
			missing := c(h.ctx, ghost, etag)
			if status.Code(missing) != codes.NotFound {
				t.Fatalf("%s of a missing id, etag %q: %v, want NOT_FOUND", what, etag, missing)
			}
			want := answer(missing, ghost)
			if got := answer(c(h.ctx, name, etag), name); got != want {
				t.Errorf("%s of %s, etag %q:\n%s\nwhere a missing id gets:\n%s", what, name, etag, got, want)
			}
		}
	}
	for what, c := range calls {
		for _, hr := range []*pb.HelpRequest{assigned, offered} {
			try(what, c, hr.Name, "helpRequests/"+ghostID, []string{"", "1", hr.Etag})
		}
	}
	for what, c := range offerCalls {
		for _, o := range []*pb.Offer{pending, accepted.Offer} {
			try(what, c, o.Name, "offers/"+ghostID, []string{"", "1", offered.Etag})
		}
	}
	for what, c := range volCalls {
		try(what, c, bob.Name, "volunteers/"+ghostID, []string{"", "1", bobNow.Etag})
	}
	// Nothing was changed by any of it.
	if got := h.getHR(offered.Name); got.State != pb.HelpRequest_STATE_OFFERED || got.Etag != offered.Etag {
		t.Errorf("the offered request is now %v, etag %s (was %s)", got.State, got.Etag, offered.Etag)
	}
	if got := h.getHR(assigned.Name); got.State != pb.HelpRequest_STATE_ASSIGNED || got.Etag != assigned.Etag {
		t.Errorf("the assigned request is now %v, etag %s (was %s)", got.State, got.Etag, assigned.Etag)
	}
}
