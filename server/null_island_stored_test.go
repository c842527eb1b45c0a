package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// atNullIslandInStore moves a request or a volunteer to 0, 0 by a write
// straight to the store, as a server from before the refusal of 0, 0
// stored them from an imported sheet's empty cells.
func (h *harness) atNullIslandInStore(name string) {
	h.t.Helper()
	if id, ok := strings.CutPrefix(name, "helpRequests/"); ok {
		r, err := h.st.GetHelpRequest(h.ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		r.Location.LatLng = &pb.LatLng{}
		r.Location.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
		if _, err := h.st.UpdateHelpRequest(h.ctx, r); err != nil {
			h.t.Fatal(err)
		}
		return
	}
	v, err := h.st.GetVolunteer(h.ctx, strings.TrimPrefix(name, "volunteers/"))
	if err != nil {
		h.t.Fatal(err)
	}
	v.Home.LatLng = &pb.LatLng{}
	v.Home.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	if _, err := h.st.UpdateVolunteer(h.ctx, v); err != nil {
		h.t.Fatal(err)
	}
}

// TestNullIslandStoredLeftOut: a volunteer and a request stored at 0, 0
// before the server refused it (a Lerwick volunteer, a Plymouth caller,
// both from sheets with empty coordinates) were matched at every start as
// neighbours 0 m apart. The volunteer is left out of matching, with a word
// in the log, and a search for the request is refused as without a place,
// until someone gives each their real coordinates.
func TestNullIslandStoredLeftOut(t *testing.T) {
	h := newHarness(t)
	ola := h.createVol(matchVolunteer("Ola", "AB10 1AF"))
	hr := h.createHR(shopping())
	h.atNullIslandInStore(ola.Name)
	h.atNullIslandInStore(hr.Name)
	h.reopen()
	left := false
	for _, e := range h.logs.FilterMessage("volunteer left out of matching").All() {
		left = left || e.ContextMap()["volunteer"] == ola.Name
	}
	if !left {
		t.Errorf("no word in the log that %s was left out of matching", ola.Name)
	}
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 5})
	if err == nil {
		var got []string
		for _, c := range resp.Candidates {
			got = append(got, c.Volunteer)
		}
		t.Fatalf("FindCandidates for a request at 0, 0 listed %v", got)
	}
	wantFailure(t, err, codes.FailedPrecondition, "NOT_MATCHABLE")
	// Given a real place (here its postcode's centre again), each is
	// matched again.
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: ola.Name, Home: &pb.Location{Postcode: "AB10 1AF", Street: "Union Street"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Postcode: "AB10 1AB", Street: "Union Street"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location"}}}); err != nil {
		t.Fatal(err)
	}
	if got := h.candidates(hr.Name); len(got) != 1 || got[0] != ola.Name {
		t.Errorf("after both were given real places: candidates %v, want %s", got, ola.Name)
	}
}

// TestEditOfAssignedAtNullIslandStillQualifies: a request stored at 0, 0
// (before the server refused it) and assigned to Ann, who does not drive,
// is made a lift: refused as asking what she has not, as anywhere else.
// Matching leaves 0, 0 out; the judgement of her skills must not be left
// out with it.
func TestEditOfAssignedAtNullIslandStillQualifies(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping())
	h.invAssign(hr.Name, ann.Name)
	h.atNullIslandInStore(hr.Name)
	wantLiftRefused(t, h, hr.Name)
}

// TestEditOfRecordStoredAtNullIsland: a request and a volunteer an older
// version stored at 0, 0, given by hand at a postcode the gazetteer knows.
// An edit of the street alone (doorstep request edit --street, which has no
// --lat), or a form saved back whole as it was read, was refused for
// coordinates 0, 0 the caller had not sent, and the record could be
// mended only by moving it to another postcode. Coordinates 0, 0 sent
// back as stored are taken as missing: the record takes its postcode's
// centre, as a new one without coordinates does.
func TestEditOfRecordStoredAtNullIsland(t *testing.T) {
	h := newHarness(t)
	ola := h.createVol(matchVolunteer("Ola", "AB10 1AF"))
	hr := h.createHR(shopping())
	h.atNullIslandInStore(ola.Name)
	h.atNullIslandInStore(hr.Name)
	centre, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Street: "Holburn Street"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}}})
	if err != nil {
		t.Fatalf("an edit of the street: %v", err)
	}
	if ll := resp.HelpRequest.Location.GetLatLng(); ll.GetLatitude() != centre.LatLng.Latitude || ll.GetLongitude() != centre.LatLng.Longitude {
		t.Errorf("the request is now at %v, want the postcode's centre %v", ll, centre.LatLng)
	}
	cur := h.getVol(ola.Name)
	cur.Capacity = 2
	vresp, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: cur, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}}})
	if err != nil {
		t.Fatalf("a form saved back whole: %v", err)
	}
	if ll := vresp.Volunteer.Home.GetLatLng(); ll.GetLatitude() == 0 && ll.GetLongitude() == 0 {
		t.Errorf("the volunteer is still at 0, 0")
	}
	// 0, 0 given anew is refused still.
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{}}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location"}}})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.location.lat_lng" {
		t.Errorf("0, 0 given anew: %v, want refused naming lat_lng", err)
	}
}
