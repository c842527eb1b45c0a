package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerCannotPinpointDoorAtUnknownPostcode: a request at a
// postcode the gazetteer does not know (a new estate) is placed by the
// coordinates the helpline gives, the door's own. A volunteer offered it
// is told its distance in whole 100 m; but moving their home (their token
// may) a little at a time until the figure turns over tells them where it
// is exactly that many metres away, and three such places put the door to
// a metre, as the distance to the metre did before.
func TestVolunteerCannotPinpointDoorAtUnknownPostcode(t *testing.T) {
	h := newHarness(t)
	door := &pb.LatLng{Latitude: 57.14953, Longitude: -2.09830}
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Location = &pb.Location{Postcode: "AB10 9ZZ", Street: "New Street", LatLng: door}
	}))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name}))
	vm, vv := pb.NewMatchingServiceClient(conn), pb.NewVolunteerServiceClient(conn)
	off := h.offer(hr.Name, ann.Name)

	told := func(at *pb.LatLng) float64 {
		t.Helper()
		if _, err := vv.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: ann.Name, Home: &pb.Location{Postcode: "AB10 1AF", LatLng: at}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home.lat_lng"}},
		}); err != nil {
			t.Fatalf("move home: %v", err)
		}
		got, err := vm.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name})
		if err != nil || got.Offer.DistanceMetres == nil {
			t.Fatalf("the volunteer reads their offer: %v %v", got, err)
		}
		return float64(got.Offer.GetDistanceMetres())
	}
	// Along a line from a start, find where the figure turns over: there
	// the distance is the lower figure, to a few centimetres.
	const step = 0.0015 // degrees of latitude, some 170 m
	turn := func(start *pb.LatLng) (*pb.LatLng, float64) {
		at := func(f float64) *pb.LatLng {
			return &pb.LatLng{Latitude: start.Latitude + f*step, Longitude: start.Longitude}
		}
		lo, hi := 0.0, 1.0
		dlo, dhi := told(at(lo)), told(at(hi))
		if dlo == dhi {
			t.Fatalf("no turn between %v and %v", at(lo), at(hi))
		}
		for range 24 {
			mid := (lo + hi) / 2
			if d := told(at(mid)); d == dlo {
				lo = mid
			} else {
				hi, dhi = mid, d
			}
		}
		return at(lo), min(dlo, dhi)
	}
	var homes [3]*pb.LatLng
	var ds [3]float64
	for i, start := range []*pb.LatLng{
		{Latitude: 57.15200, Longitude: -2.09700},
		{Latitude: 57.14500, Longitude: -2.09400},
		{Latitude: 57.14700, Longitude: -2.10400},
	} {
		homes[i], ds[i] = turn(start)
	}
	lat, lng := trilaterate(homes, ds)
	miss := geo.DistanceMetres(lat, lng, door.Latitude, door.Longitude)
	if miss < 30 {
		t.Errorf("the volunteer places the door to %.1f m from the offer's distances", miss)
	}
}
