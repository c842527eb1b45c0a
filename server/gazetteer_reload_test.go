package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// reloadGazetteer restarts the server after loading csv over its
// gazetteer, as doorstepd --gazetteer does with a newer ONS release.
func (h *harness) reloadGazetteer(csv string) {
	h.t.Helper()
	h.close()
	st, err := h.open()
	if err != nil {
		h.t.Fatal(err)
	}
	p := filepath.Join(h.t.TempDir(), "onspd.csv")
	if err := os.WriteFile(p, []byte(csv), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if _, err := server.LoadGazetteer(h.ctx, st, p); err != nil {
		h.t.Fatal(err)
	}
	h.serve(st)
}

// TestEditAfterPostcodeTerminated: the ONS terminates a few thousand
// postcodes each quarter. A request and a volunteer whose postcode a
// reload terminated keep the centre they were given; an edit of the
// street alone, which leaves the postcode as it was, must keep it too,
// not be refused for a postcode the caller did not change.
func TestEditAfterPostcodeTerminated(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping())
	h.reloadGazetteer("pcds,lat,long,doterm\r\nAB10 1AB,57.149606,-2.096916,202601\r\nAB10 1AF,57.14959,-2.096923,202601\r\n")

	upd, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Street: "Holburn St"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
	})
	if err != nil {
		t.Fatalf("street of a request whose postcode was terminated: %v", err)
	}
	if l := upd.HelpRequest.Location; l.Street != "Holburn Street" || !proto.Equal(l.LatLng, hr.Location.LatLng) ||
		l.CoordinatesSource != pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID {
		t.Errorf("request location %v, want the new street at the centre it had (%v)", l, hr.Location.LatLng)
	}
	updVol, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: vol.Name, Home: &pb.Location{Street: "Holburn St"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home.street"}},
	})
	if err != nil {
		t.Fatalf("street of a volunteer whose postcode was terminated: %v", err)
	}
	if l := updVol.Volunteer.Home; !proto.Equal(l.LatLng, vol.Home.LatLng) {
		t.Errorf("volunteer home %v, want the centre it had (%v)", l, vol.Home.LatLng)
	}
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
	if err != nil || len(resp.Candidates) != 1 {
		t.Errorf("candidates after the edits: %v, %v; want Ann", resp.GetCandidates(), err)
	}

	// Given coordinates cleared on a postcode the gazetteer no longer
	// knows leave nothing to place the record by: still refused.
	withGiven := h.createHR(shopping(callerPhone("07700 900444"), func(r *pb.HelpRequest) {
		r.Location.LatLng = &pb.LatLng{Latitude: 57.1497, Longitude: -2.0970}
	}))
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: withGiven.Name, Location: &pb.Location{}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.lat_lng"}},
	})
	if _, reason, fields := errorOf(t, err); reason != server.ReasonUnknownPostcode || len(fields) != 1 || fields[0] != "help_request.location.postcode" {
		t.Errorf("clearing given coordinates at a terminated postcode: %v", err)
	}
}
