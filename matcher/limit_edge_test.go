package matcher

import (
	"fmt"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// edgePair is a request's longitude near lng and a volunteer's due west
// of it, at lat, whose home lies on the far side of limit one way and on
// the near side the other: as given (raw) beyond it and as the grid stores
// it (to 2^-23 degree) within it, or, with rawWithin, the other way round.
func edgePair(t *testing.T, lat, lng, limit float64, rawWithin bool) (reqLng, volLng float64) {
	t.Helper()
	for j := range 1000 {
		reqLng = lng + float64(j)*1e-9
		x := reqLng - limit/(gridMetresPerDeg*gridCosDeg(lat))
		for i := -2000; i <= 2000; i++ {
			l := x + float64(i)*1e-10
			raw := ApproxMetres(lat, reqLng, lat, l)
			stored := ApproxMetres(lat, reqLng, gridStored(lat), gridStored(l))
			if rawWithin == (raw <= limit) && rawWithin != (stored <= limit) {
				return reqLng, l
			}
		}
	}
	t.Fatal("no longitude straddles the limit")
	return 0, 0
}

// TestEligibleAgreesWithSearchAtTheLimit: a volunteer whose home lies a
// hair's breadth from the request's 1.5 km reach, astride the prime
// meridian at Greenwich, is listed by FindCandidates exactly when an offer
// by hand (Eligible) and its check in the offer's transaction
// (StillEligibleAsStored) let them be offered, and a sentence that refuses
// them is not contradicted by the list the coordinator just read.
func TestEligibleAgreesWithSearchAtTheLimit(t *testing.T) {
	const lat, lng = 51.4779, 0.0001 // the request, just east of the meridian
	for _, rawWithin := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw within %v", rawWithin), func(t *testing.T) {
			reqLng, volLng := edgePair(t, lat, lng, 1500, rawWithin)
			v := vol("edge", 0, 0, func(v *pb.Volunteer) { v.Home.LatLng = &pb.LatLng{Latitude: lat, Longitude: volLng} })
			r := req(func(r *pb.HelpRequest) { r.Location.LatLng = &pb.LatLng{Latitude: lat, Longitude: reqLng} })
			e := engineWith(t, v)
			res, err := e.FindCandidates(r, nil, 5, now)
			if err != nil {
				t.Fatal(err)
			}
			listed := len(res.Candidates) == 1
			ok, why, err := e.Eligible(r, nil, v.Name, now)
			if err != nil {
				t.Fatal(err)
			}
			if ok != listed {
				t.Errorf("FindCandidates lists them: %v (%v); Eligible says %v (%s)", listed, names(res.Candidates), ok, why.Why())
			}
			ok, why, err = e.StillEligibleAsStored(r, v, now)
			if err != nil {
				t.Fatal(err)
			}
			if ok != listed {
				t.Errorf("FindCandidates lists them: %v; StillEligibleAsStored says %v (%s)", listed, ok, why.Why())
			}
		})
	}
}
