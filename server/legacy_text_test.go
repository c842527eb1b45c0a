package server_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditBesideALegacyLineSeparator: a record stored before line
// separators were refused in one-line fields, its name holding one. An
// edit of something else (the details, a volunteer pausing) is not the
// place to refuse it: the separator is stored as a space.
func TestEditBesideALegacyLineSeparator(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	stored, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(hr.Name, "helpRequests/"))
	if err != nil {
		t.Fatal(err)
	}
	stored.Requester.DisplayName = "Margaret\u2028Ironside"
	if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
		t.Fatal(err)
	}
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk only"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}})
	if err != nil {
		t.Errorf("details edit: %v", err)
	} else if got := h.getHR(hr.Name).GetRequester().GetDisplayName(); got != "Margaret Ironside" {
		t.Errorf("name after the edit: %q", got)
	}

	v := h.createVol(validVolunteer())
	sv, err := h.st.GetVolunteer(h.ctx, strings.TrimPrefix(v.Name, "volunteers/"))
	if err != nil {
		t.Fatal(err)
	}
	sv.Contact.DisplayName = "Callum\u2028Reid"
	if _, err := h.st.UpdateVolunteer(h.ctx, sv); err != nil {
		t.Fatal(err)
	}
	_, err = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: v.Name, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
	if err != nil {
		t.Errorf("pause: %v", err)
	} else if got := h.getVol(v.Name); !got.Paused || got.GetContact().GetDisplayName() != "Callum Reid" {
		t.Errorf("after the pause: paused %v, name %q", got.Paused, got.GetContact().GetDisplayName())
	}
}
