package server_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditOfRecordStoredOffEarth: a volunteer and a request stored with
// coordinates off Earth (latitude 91: written before the server checked,
// or by hand) are left out of matching. A coordinator's hold of the
// volunteer, or a new note on the request, touches no coordinates and is
// taken; only an edit of the place must give a good one.
func TestEditOfRecordStoredOffEarth(t *testing.T) {
	h := newHarness(t)
	ola := h.createVol(matchVolunteer("Ola", "AB10 1AF"))
	hr := h.createHR(shopping())
	v, err := h.st.GetVolunteer(h.ctx, strings.TrimPrefix(ola.Name, "volunteers/"))
	if err != nil {
		t.Fatal(err)
	}
	v.Home.LatLng = &pb.LatLng{Latitude: 91, Longitude: -2.1}
	v.Home.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	if _, err := h.st.UpdateVolunteer(h.ctx, v); err != nil {
		t.Fatal(err)
	}
	r, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(hr.Name, "helpRequests/"))
	if err != nil {
		t.Fatal(err)
	}
	r.Location.LatLng = &pb.LatLng{Latitude: 91, Longitude: -2.1}
	r.Location.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	if _, err := h.st.UpdateHelpRequest(h.ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer: &pb.Volunteer{Name: ola.Name, Held: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"held"}}}); err != nil {
		t.Errorf("a hold of a volunteer stored off Earth: %v", err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Ring twice"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"details"}}}); err != nil {
		t.Errorf("a new note on a request stored off Earth: %v", err)
	}
}
