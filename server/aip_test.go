package server_test

// The public API against the AIPs it follows and its proto comments, as
// clients that read, change and send back meet it.

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestReadModifyWriteOfPostcodeMovesTheRequest (AIP-134): a client reads a
// request, changes its postcode and sends the request back (no mask, "*"
// or "location"). The coordinates it echoes are the server's own centre of
// the old postcode, not coordinates the caller gave: the request moves to
// the new postcode's centre.
func TestReadModifyWriteOfPostcodeMovesTheRequest(t *testing.T) {
	for _, mask := range [][]string{nil, {"*"}, {"location"}} {
		t.Run(strings.Join(mask, ","), func(t *testing.T) {
			h := newHarness(t)
			hr := h.createHR(validHelpRequest())
			got := h.getHR(hr.Name)
			if got.Location.CoordinatesSource != pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID {
				t.Fatalf("created with %v", got.Location.CoordinatesSource)
			}
			got.Location.Postcode = "AB15 4AA"
			req := &pb.UpdateHelpRequestRequest{HelpRequest: got}
			if mask != nil {
				req.UpdateMask = &fieldmaskpb.FieldMask{Paths: mask}
			}
			resp, err := h.hr.UpdateHelpRequest(h.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			centre, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB15 4AA"})
			if err != nil {
				t.Fatal(err)
			}
			loc := resp.HelpRequest.Location
			if !proto.Equal(loc.LatLng, centre.LatLng) || loc.CoordinatesSource != pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID {
				t.Errorf("moved to AB15 4AA but located at %v (%v); AB15 4AA's centre is %v", loc.LatLng, loc.CoordinatesSource, centre.LatLng)
			}
		})
	}
}

// TestStreetTidiedPastItsLimit: Location.street is "up to 100 characters.
// Stored tidied". A street that outgrows the limit once its abbreviation
// is spelled out is refused on create, so no stored record holds one that
// would make every later update fail on a field the caller did not send.
func TestStreetTidiedPastItsLimit(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		street string
		ok     bool
	}{
		{strings.Repeat("Long", 24) + " St", false}, // 99 as sent, 103 spelled out
		{strings.Repeat("Long", 23) + " St", true},  // 95 as sent, 99 spelled out
	} {
		in := validHelpRequest()
		in.Location.Street = tc.street
		_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: in})
		vin := validVolunteer()
		vin.Home.Street = tc.street
		_, verr := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: vin})
		if tc.ok {
			if err != nil || verr != nil {
				t.Errorf("%d characters spelled out: %v, %v", len(tc.street)+3, err, verr)
			}
			continue
		}
		for _, c := range []struct {
			err   error
			field string
		}{{err, "help_request.location.street"}, {verr, "volunteer.home.street"}} {
			if _, _, fields := errorOf(t, c.err); len(fields) != 1 || fields[0] != c.field {
				t.Errorf("create with a street of %d characters spelled out: %v (fields %v), want %s refused", len(tc.street)+3, c.err, fields, c.field)
			}
		}
	}
}

// TestVolunteerReadModifyWriteIsNotAVettingChange: a volunteer's app reads
// its own record, flips paused and sends it back (AIP-134: no mask means
// every field set; "*" means all). The vetting it echoes is unchanged, so
// the update is not refused as a change of vetting.
func TestVolunteerReadModifyWriteIsNotAVettingChange(t *testing.T) {
	for _, mask := range [][]string{nil, {"*"}} {
		t.Run(strings.Join(mask, ","), func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(validVolunteer())
			vols := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "v", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name})))
			got, err := vols.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: ann.Name})
			if err != nil {
				t.Fatal(err)
			}
			got.Volunteer.Paused = true
			req := &pb.UpdateVolunteerRequest{Volunteer: got.Volunteer}
			if mask != nil {
				req.UpdateMask = &fieldmaskpb.FieldMask{Paths: mask}
			}
			if _, err := vols.UpdateVolunteer(h.ctx, req); err != nil {
				t.Errorf("pause by read-modify-write: %v", err)
			}
		})
	}
}

// TestCreateRetryReturnsTheFirstResultLater (AIP-155): "Retrying with the
// same request_id and the same help_request returns the first result",
// even after the request's window has passed: the retry is not judged
// again as a new request.
func TestCreateRetryReturnsTheFirstResultLater(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	const rid = "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"
	in := validHelpRequest()
	first, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: proto.Clone(in).(*pb.HelpRequest), RequestId: rid})
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(6 * time.Hour) // past the window's end
	again, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: proto.Clone(in).(*pb.HelpRequest), RequestId: rid})
	if err != nil {
		_, _, fields := errorOf(t, err)
		t.Fatalf("retry: %v (fields %v)", err, fields)
	}
	if again.HelpRequest.Name != first.HelpRequest.Name {
		t.Errorf("retry answered %s, first %s", again.HelpRequest.Name, first.HelpRequest.Name)
	}
}

// TestExternalIDCountsCharacters: HelpRequest.external_id is "up to 128
// printable characters", so 100 accented characters are accepted.
func TestExternalIDCountsCharacters(t *testing.T) {
	h := newHarness(t)
	in := validHelpRequest()
	in.ExternalId = strings.Repeat("é", 100)
	if _, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: in}); err != nil {
		_, _, fields := errorOf(t, err)
		t.Errorf("100-character external_id: %v (fields %v)", err, fields)
	}
}

// TestUpdateAfterErasureIsRefused: what is left of an erased request is the
// record of what happened, closed for good: an update is refused with
// FAILED_PRECONDITION PERSONAL_DATA_REMOVED, never with field violations
// naming requester fields the caller did not send (AIP-193).
func TestUpdateAfterErasureIsRefused(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	if _, err := pb.NewAdminServiceClient(h.conn).ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "01224 123456"}); err != nil {
		t.Fatal(err)
	}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Urgency: pb.Urgency_URGENCY_HIGH},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency"}}})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonPersonalDataRemoved)
	if got := h.getHR(hr.Name); got.Urgency == pb.Urgency_URGENCY_HIGH {
		t.Errorf("the refused update changed the urgency")
	}
}

// TestVolunteerViewCarriesEtag (AIP-154): the etag is output on every
// read, the view a volunteer gets of a request offered to them included.
func TestVolunteerViewCarriesEtag(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB11 5QN"))
	hr := h.createHR(shopping())
	h.offer(hr.Name, ann.Name)
	c := pb.NewHelpRequestServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "v", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name})))
	got, err := c.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got.HelpRequest.Etag == "" {
		t.Errorf("volunteer's view of %s has no etag", hr.Name)
	}
}
