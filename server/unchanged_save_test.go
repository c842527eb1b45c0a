package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestUnchangedSaveKeepsTheEtag: a coordinator's app saves a form nobody
// changed (a read-modify-write sending the record back as read), or the
// helpline resumes a volunteer who was not paused. Nothing changed, so
// the etag must not move: else another coordinator's edit of the record
// they read a moment ago is refused as a conflict (ABORTED) over nothing,
// and every app watching rereads the record for no change.
func TestUnchangedSaveKeepsTheEtag(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Morag", "AB10 1AF"))
	hr := h.createHR(shopping())
	before := h.revision()

	// Another coordinator saves the request's form unchanged, with and
	// without a mask, and the helpline resumes a volunteer who is active.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: h.getHR(hr.Name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: hr.Details},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"details"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: vol.Name, Paused: false},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Volunteer.Etag != vol.Etag {
		t.Errorf("resuming an active volunteer moved their etag from %s to %s", vol.Etag, got.Volunteer.Etag)
	}
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: h.getVol(vol.Name)}); err != nil {
		t.Fatal(err)
	}
	if evs := h.logged(before + 1); len(evs) > 0 {
		t.Errorf("saves that changed nothing logged %q", eventKeys(evs))
	}

	// The first coordinator's edits, made against what they read before.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Etag: hr.Etag, Urgency: pb.Urgency_URGENCY_HIGH},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency"}}}); err != nil {
		t.Errorf("an edit after a save that changed nothing: %v", err)
	}
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: vol.Name, Etag: vol.Etag, Capacity: 2},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}}}); err != nil {
		t.Errorf("an edit after a resume that changed nothing: %v", err)
	}
}
