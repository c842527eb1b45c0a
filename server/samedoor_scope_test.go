package server_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestSameDoorNamesNoOtherVolunteerToPartnersOrVolunteers: one caller has
// asked two groups for help at one door. Bob, of another group, is
// offered the second group's request. A refusal for the door rule tells
// the other group's partner, or a volunteer, that someone is going to the
// door then, which is why it is refused; but who that is (a volunteer
// record neither may read, of another group) is staff's to know: a
// request's partner is not told another group's volunteer's group, and a
// volunteer whose offer ended is not told who has the request now.
func TestSameDoorNamesNoOtherVolunteerToPartnersOrVolunteers(t *testing.T) {
	for _, tc := range []struct {
		name string
		// refuse makes the refused call, as staff or as the caller under
		// test, and returns its error and the volunteer going to the door.
		refuse func(t *testing.T, h *harness, staff bool) (string, error)
	}{
		{"partner's edit", func(t *testing.T, h *harness, staff bool) (string, error) {
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222"), func(v *pb.Volunteer) { v.Organisation = "ferryhill-helpers" }))
			first := h.createHR(shopping(hours(1, 3))) // aberdeen-mutual-aid's
			second := h.createHR(shopping(hours(30, 32), func(r *pb.HelpRequest) { r.Organisation = "ferryhill-helpers" }))
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
				t.Fatal(err)
			}
			h.offer(second.Name, bob.Name)
			c := h.hr
			if !staff {
				partner := h.newToken(h.st, &pb.Token{DisplayName: "city intake", Role: pb.Role_ROLE_PARTNER, Organisation: "aberdeen-mutual-aid"})
				c = pb.NewHelpRequestServiceClient(h.as(partner))
			}
			r := &pb.HelpRequest{Name: first.Name}
			hours(30, 31)(r)
			_, err := c.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
			return bob.Name, err
		}},
		{"volunteer's accept", func(t *testing.T, h *harness, staff bool) (string, error) {
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Organisation = "ferryhill-helpers" }))
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
			first := h.createHR(shopping(hours(1, 3), func(r *pb.HelpRequest) { r.Organisation = "ferryhill-helpers" }))
			second := h.createHR(shopping(hours(30, 32)))
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
				t.Fatal(err)
			}
			toBob := h.offer(second.Name, bob.Name)
			// The offered request moves by another way than the API (a
			// write the edit's review did not see), so that the accept's
			// own check refuses it.
			stored, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(second.Name, "helpRequests/"))
			if err != nil {
				t.Fatal(err)
			}
			hours(2, 3)(stored)
			if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
				t.Fatal(err)
			}
			c := h.match
			if !staff {
				token := h.newToken(h.st, &pb.Token{DisplayName: "Bob", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: bob.Name})
				c = pb.NewMatchingServiceClient(h.as(token))
			}
			_, err = c.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: toBob.Name})
			return ann.Name, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			other, err := tc.refuse(t, h, false)
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
			if strings.Contains(status.Convert(err).Message(), other) {
				t.Errorf("the refusal names the other volunteer: %q", status.Convert(err).Message())
			}
			if md := errorMetadata(err); md["volunteer_coming"] != "" {
				t.Errorf("the refusal's volunteer_coming names the other volunteer: %q", md["volunteer_coming"])
			}
		})
		// Staff may offer the request to the one going, and must be told
		// who that is.
		t.Run(tc.name+" by staff", func(t *testing.T) {
			h := newHarness(t)
			other, err := tc.refuse(t, h, true)
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
			if md := errorMetadata(err); md["volunteer_coming"] != other || !strings.Contains(status.Convert(err).Message(), other) {
				t.Errorf("the refusal to staff does not name %s: %q, volunteer_coming %q", other, status.Convert(err).Message(), md["volunteer_coming"])
			}
		})
	}
}

// errorMetadata is the metadata of an error's ErrorInfo.
func errorMetadata(err error) map[string]string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Metadata
		}
	}
	return nil
}
