package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestMaskNamesOutputOnlyNestedField: a nested output-only field named in
// an update mask is refused as output only, not as no field at all, so
// that the caller knows to leave it out rather than look for a typo.
func TestMaskNamesOutputOnlyNestedField(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.coordinates_source"}},
	})
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "is output only") {
		t.Errorf("got %q, want it called output only", msg)
	}
	vol := h.createVol(validVolunteer())
	_, err = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: vol.Name},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home.coordinates_source"}},
	})
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "is output only") {
		t.Errorf("volunteer: got %q, want it called output only", msg)
	}
}
