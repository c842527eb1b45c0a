package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestNullIslandRefused: 0, 0 is what missing coordinates read as in an
// imported spreadsheet, and it lies in the Gulf of Guinea. A request and a
// volunteer given it at postcodes the gazetteer does not know (a new
// estate in Plymouth, a new one in Lerwick) were both stored there and
// matched to each other as neighbours 0 m apart; every create and edit
// that gives it is refused, naming the field.
func TestNullIslandRefused(t *testing.T) {
	h := newHarness(t)
	nullIsland := &pb.LatLng{}
	vol := h.createVol(matchVolunteer("Magnus", "AB10 1AF"))
	hr := h.createHR(shopping())
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"create request", func() error {
			_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
				r.Location = &pb.Location{Postcode: "PL1 9ZZ", LatLng: nullIsland}
			})})
			return err
		}, "help_request.location.lat_lng"},
		{"create volunteer", func() error {
			_, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: matchVolunteer("Ola", "ZE1 9ZZ", func(v *pb.Volunteer) {
				v.Home.LatLng = nullIsland
				v.Contact.Phone = "07700 900444"
			})})
			return err
		}, "volunteer.home.lat_lng"},
		{"move a request", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Postcode: "PL1 9ZZ", LatLng: nullIsland}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location"}}})
			return err
		}, "help_request.location.lat_lng"},
		{"move a volunteer", func() error {
			_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: vol.Name, Home: &pb.Location{Postcode: "ZE1 9ZZ", LatLng: nullIsland}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home"}}})
			return err
		}, "volunteer.home.lat_lng"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, fields := errorOf(t, tt.call())
			if code != codes.InvalidArgument || len(fields) != 1 || fields[0] != tt.field {
				t.Errorf("got %v naming %v, want InvalidArgument naming %s", code, fields, tt.field)
			}
		})
	}
	if got := h.getHR(hr.Name).GetLocation().GetPostcode(); got != "AB10 1AB" {
		t.Errorf("the request moved to %s", got)
	}
	if got := h.getVol(vol.Name).GetHome().GetPostcode(); got != "AB10 1AF" {
		t.Errorf("the volunteer moved to %s", got)
	}
}
