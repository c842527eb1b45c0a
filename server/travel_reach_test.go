package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTravelModeChangeMovesTheDefaultReach: a volunteer registered on foot
// without a reach of their own goes 1.5 km. When they get a car, and the
// edit says only that, they go as far as a driver does (15 km), and are
// found at once for a food parcel 2.4 km away; when they sell it and walk
// again, back to 1.5 km, and that parcel is too far. A reach the
// volunteer chose stays whatever their way of travelling.
func TestTravelModeChangeMovesTheDefaultReach(t *testing.T) {
	h := newHarness(t)
	// Ann lives 2.4 km from the request; a food parcel goes 3 km at most.
	ann := h.createVol(matchVolunteer("Ann", "AB10 7PB"))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_FOOD_PARCEL} }))
	travel := func(name string, mode pb.TravelMode) *pb.Volunteer {
		t.Helper()
		resp, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: name, TravelMode: mode},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"travel_mode"}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Volunteer
	}
	found := func() bool {
		t.Helper()
		resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.Candidates {
			if c.Volunteer == ann.Name {
				return true
			}
		}
		return false
	}
	if ann.MaxDistanceMetres != 1500 || found() {
		t.Fatalf("on foot: reach %d, found %v; want 1500 and not found", ann.MaxDistanceMetres, found())
	}
	if got := travel(ann.Name, pb.TravelMode_TRAVEL_MODE_CAR); got.MaxDistanceMetres != 15000 || !found() {
		t.Errorf("with a car: reach %d, found %v; want 15000 and found", got.MaxDistanceMetres, found())
	}
	if got := travel(ann.Name, pb.TravelMode_TRAVEL_MODE_WALKING); got.MaxDistanceMetres != 1500 || found() {
		t.Errorf("on foot again: reach %d, found %v; want 1500 and not found", got.MaxDistanceMetres, found())
	}

	chosen := h.createVol(matchVolunteer("Bob", "AB10 1AF", func(v *pb.Volunteer) { v.MaxDistanceMetres = 4000 }))
	if got := travel(chosen.Name, pb.TravelMode_TRAVEL_MODE_CAR); got.MaxDistanceMetres != 4000 {
		t.Errorf("a chosen reach of 4000 became %d with a car", got.MaxDistanceMetres)
	}
}
