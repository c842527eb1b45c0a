package matcher

import (
	"errors"
	"math"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestUpsertRefusesCoordinatesOffEarth: a volunteer whose stored home is
// not on Earth (NaN, latitude 91, longitude 200: a record written before
// the server checked, or by hand) is left out of matching with
// ErrNoLocation, as one without coordinates is. It was taken in, and the
// next search, bringing the grid up to date, panicked holding the engine's
// lock: every later search and write waited for ever. A request stored
// there found nobody, yet Eligible passed anyone for it: a distance that
// is NaN is beyond no limit.
func TestUpsertRefusesCoordinatesOffEarth(t *testing.T) {
	for _, ll := range []*pb.LatLng{
		{Latitude: math.NaN(), Longitude: -2.1},
		{Latitude: 57.1, Longitude: math.NaN()},
		{Latitude: 91, Longitude: -2.1},
		{Latitude: 57.1, Longitude: 200},
		{Latitude: math.Inf(1), Longitude: 0},
	} {
		e := engineWith(t, vol("ann", 0, 0))
		bad := vol("bob", 0, 0, func(v *pb.Volunteer) { v.Home.LatLng = ll })
		if err := e.UpsertVolunteer(bad); !errors.Is(err, ErrNoLocation) {
			t.Errorf("%v: UpsertVolunteer = %v, want ErrNoLocation", ll, err)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%v: FindCandidates panicked: %v", ll, p)
				}
			}()
			res, err := e.FindCandidates(req(), nil, 5, now)
			if err != nil || len(res.Candidates) != 1 {
				t.Errorf("%v: FindCandidates = %v, %v; want ann alone", ll, names(res.Candidates), err)
			}
		}()
		// A request stored off Earth: no distance to it is within any
		// reach, so an offer by hand must not pass as if it were.
		r := req(func(r *pb.HelpRequest) { r.Location.LatLng = ll })
		if ok, _, err := e.Eligible(r, nil, "volunteers/ann", now); ok || !errors.Is(err, ErrNoLocation) {
			t.Errorf("%v: Eligible for a request there = %v, %v; want ErrNoLocation", ll, ok, err)
		}
	}
}
