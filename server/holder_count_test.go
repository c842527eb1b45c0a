package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCandidatesOfAnAssignedRequestCountOnlyOthers: the volunteer a
// request is assigned to, full with it, is no more another volunteer near
// who cannot help than the one holding its offer: a script or app asking
// for candidates of an assigned request (as the CLI's --json does) was
// told "1 is fully booked" of the very volunteer going.
func TestCandidatesOfAnAssignedRequestCountOnlyOthers(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, ann.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	if st := h.getHR(hr.Name).State; st != pb.HelpRequest_STATE_ASSIGNED {
		t.Fatalf("request %v, want assigned", st)
	}
	got, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Exclusions) != 0 || !strings.HasPrefix(got.Summary, "nobody else lives within") {
		t.Errorf("candidates of a request assigned to the only volunteer near: summary %q, exclusions %v", got.Summary, got.Exclusions)
	}
}
