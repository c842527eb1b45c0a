package server_test

import (
	"math"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerCannotPinpointDoorFromOfferDistance: before accepting, a
// volunteer is told the street and the postcode sector, never the house or
// the coordinates. The offer's distance must not tell them the rest: read
// from three homes of their own choosing (their token may move their home),
// distances to the metre place the caller's door to a few metres, before
// they accept or after they have declined.
func TestVolunteerCannotPinpointDoorFromOfferDistance(t *testing.T) {
	h := newHarness(t)
	door := &pb.LatLng{Latitude: 57.14890, Longitude: -2.09950} // off a map, near AB10 1AB
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.LatLng = door }))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 2 }))
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name}))
	vm, vv := pb.NewMatchingServiceClient(conn), pb.NewVolunteerServiceClient(conn)
	off := h.offer(hr.Name, ann.Name)
	centre, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: hr.Location.Postcode})
	if err != nil {
		t.Fatal(err)
	}

	homes := []*pb.LatLng{
		{Latitude: 57.15100, Longitude: -2.09700},
		{Latitude: 57.14700, Longitude: -2.09500},
		{Latitude: 57.14900, Longitude: -2.10300},
	}
	read := func(stage string) [3]float64 {
		t.Helper()
		var ds [3]float64
		for i, home := range homes {
			_, err := vv.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: ann.Name, Home: &pb.Location{Postcode: "AB10 1AF", LatLng: home}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home.lat_lng"}},
			})
			if err != nil {
				t.Fatalf("%s: move home: %v", stage, err)
			}
			got, err := vm.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name})
			if err != nil || got.Offer.DistanceMetres == nil {
				t.Fatalf("%s: the volunteer reads their offer: %v %v", stage, got, err)
			}
			// In whole 100 m (the README): to the metre, the distance to
			// the postcode's centre is one more thing to triangulate on.
			if d := got.Offer.GetDistanceMetres(); d%100 != 0 {
				t.Errorf("%s: the volunteer reads a distance of %d m, not in whole 100 m", stage, d)
			}
			// And to the postcode's centre (the README), within the 100 m
			// it is given in: to a grid cell's centre, kept for postcodes
			// the directory lacks, a job 155 m away read 300 m.
			c := centre.LatLng
			if to, d := geo.DistanceMetres(home.Latitude, home.Longitude, c.Latitude, c.Longitude), float64(got.Offer.GetDistanceMetres()); math.Abs(d-to) > 101 {
				t.Errorf("%s: the volunteer reads %.0f m, %.0f m from the postcode's centre: want it within 100 m of that", stage, d, to)
			}
			ds[i] = float64(got.Offer.GetDistanceMetres())
		}
		return ds
	}
	locate := func(ds [3]float64) (lat, lng float64) { return trilaterate([3]*pb.LatLng(homes), ds) }
	missBy := func(ds [3]float64) float64 {
		lat, lng := locate(ds)
		return geo.DistanceMetres(lat, lng, door.Latitude, door.Longitude)
	}

	if miss := missBy(read("offered")); miss < 30 {
		t.Errorf("offered: the volunteer places the door to %.0f m from the offer's distances", miss)
	}
	if _, err := vm.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	if miss := missBy(read("declined")); miss < 30 {
		t.Errorf("declined: the volunteer places the door to %.0f m from the offer's distances", miss)
	}
}

// trilaterate places a point from its distances to three others, on a
// local flat projection, as anyone with a map would.
func trilaterate(homes [3]*pb.LatLng, ds [3]float64) (lat, lng float64) {
	lat0 := homes[0].Latitude
	ky := geo.EarthRadiusMetres * math.Pi / 180
	kx := ky * math.Cos(lat0*math.Pi/180)
	xy := func(p *pb.LatLng) (float64, float64) {
		return (p.Longitude - homes[0].Longitude) * kx, (p.Latitude - lat0) * ky
	}
	x1, y1 := xy(homes[0])
	x2, y2 := xy(homes[1])
	x3, y3 := xy(homes[2])
	a, b := 2*(x2-x1), 2*(y2-y1)
	c := ds[0]*ds[0] - ds[1]*ds[1] - x1*x1 + x2*x2 - y1*y1 + y2*y2
	d, e := 2*(x3-x1), 2*(y3-y1)
	f := ds[0]*ds[0] - ds[2]*ds[2] - x1*x1 + x3*x3 - y1*y1 + y3*y3
	x := (c*e - f*b) / (a*e - b*d)
	y := (a*f - d*c) / (a*e - b*d)
	return lat0 + y/ky, homes[0].Longitude + x/kx
}

// TestAssignedVolunteerReadsTheirJobsDistance: once the request is
// theirs (they have its address), a volunteer reads the distance to the
// door as staff do, to the metre, not the postcode's centre in whole
// 100 m, which is for a volunteer still deciding.
func TestAssignedVolunteerReadsTheirJobsDistance(t *testing.T) {
	h := newHarness(t)
	door := &pb.LatLng{Latitude: 57.14890, Longitude: -2.09950}
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.Location.LatLng = door }))
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
		v.Home.LatLng = &pb.LatLng{Latitude: 57.15100, Longitude: -2.09700}
	}))
	vm := pb.NewMatchingServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "ann", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: ann.Name})))
	off := h.offer(hr.Name, ann.Name)
	if _, err := vm.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	staff, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name})
	if err != nil || staff.Offer.DistanceMetres == nil || staff.Offer.GetDistanceMetres()%100 == 0 {
		t.Fatalf("staff read the offer: %v %v; want a distance, not in whole 100 m", staff, err)
	}
	got, err := vm.GetOffer(h.ctx, &pb.GetOfferRequest{Name: off.Name})
	if err != nil || got.Offer.GetDistanceMetres() != staff.Offer.GetDistanceMetres() {
		t.Errorf("the volunteer assigned reads %d m (%v), want %d m as staff read it", got.GetOffer().GetDistanceMetres(), err, staff.Offer.GetDistanceMetres())
	}
}
