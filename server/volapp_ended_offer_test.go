package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestVolunteerReadsRequestOfEndedOffer: a volunteer's app hears of every
// event that names them (an offer made, the request changed, the offer
// withdrawn, declined or lapsed) and fetches the request to show it. Once
// the offer had ended, the request was NOT_FOUND, "does not exist": the
// app could not say what the withdrawn offer had been, and its list of
// past offers showed blanks. They see it as before accepting (needs, time,
// street, sector), never the caller, and never who has it now.
func TestVolunteerReadsRequestOfEndedOffer(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(20*time.Millisecond, time.Minute))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF", func(v *pb.Volunteer) {
		v.Skills = []string{"driver"}
		v.Contact.Phone = "07700 900222"
	}))
	carl := h.createVol(matchVolunteer("Carl", "AB10 1AF", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900333" }))
	annConn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name}))
	carlConn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "carl", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: carl.Name}))
	annHR := pb.NewHelpRequestServiceClient(annConn)
	w := h.watch(pb.NewEventServiceClient(annConn), &pb.WatchEventsRequest{StartRevision: h.revision() + 1})

	hr := h.createHR(shopping())
	h.offer(hr.Name, ann.Name)
	// The request now needs a driver: Ann's offer is withdrawn.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, RequiredSkills: []string{"driver"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"required_skills"}},
	}); err != nil {
		t.Fatal(err)
	}
	bobs := h.offer(hr.Name, bob.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: bobs.Name}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(w, h.revision())
	evs, _ := w.events()
	if len(evs) == 0 {
		t.Fatal("Ann's stream heard nothing")
	}
	for _, e := range evs {
		if e.HelpRequest == "" {
			continue
		}
		got, err := annHR.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: e.HelpRequest})
		if err != nil {
			t.Errorf("after %v, Ann reads the request it names: %v", e.Type, err)
			continue
		}
		r := got.HelpRequest
		if r.Requester != nil || r.Details != "" || r.Vulnerability != nil || len(r.Location.GetAddressLines()) > 0 || r.Location.GetLatLng() != nil {
			t.Errorf("after %v, Ann sees personal data: %v", e.Type, r)
		}
		if r.AssignedVolunteer != "" || r.Offer != "" {
			t.Errorf("after %v, Ann sees who has the request now: %q %q", e.Type, r.AssignedVolunteer, r.Offer)
		}
		if r.Location.GetStreet() != "Union Street" || len(r.Needs) == 0 || r.GetWindow() == nil {
			t.Errorf("after %v, Ann does not see what the request was: %v", e.Type, r)
		}
	}
	// A volunteer never offered it still finds nothing.
	if _, err := pb.NewHelpRequestServiceClient(carlConn).GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name}); status.Code(err) != codes.NotFound {
		t.Errorf("a volunteer never offered the request reads it: %v", err)
	}
	// Bob, who has it, still sees it all.
	if full := h.getHR(hr.Name); full.AssignedVolunteer != bob.Name {
		t.Fatalf("assigned to %q", full.AssignedVolunteer)
	}
}
