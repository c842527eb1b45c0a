package matcher

import (
	"errors"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestNullIslandIsNoLocation: 0, 0 is what missing coordinates read as
// (an imported sheet's empty cells, an old directory's postcode without a
// grid reference). The server now refuses it, but records stored before
// it did still hold it: a volunteer in Lerwick and a request in Plymouth,
// both at 0, 0, were matched as neighbours 0 m apart at every start. Both
// are left out of matching as having no coordinates.
func TestNullIslandIsNoLocation(t *testing.T) {
	e := engineWith(t, vol("ann", 0, 0))
	at0 := &pb.LatLng{}
	bob := vol("bob", 0, 0, func(v *pb.Volunteer) { v.Home.LatLng = at0 })
	if err := e.UpsertVolunteer(bob); !errors.Is(err, ErrNoLocation) {
		t.Errorf("UpsertVolunteer at 0, 0 = %v, want ErrNoLocation", err)
	}
	r := req(func(r *pb.HelpRequest) { r.Location.LatLng = at0 })
	if res, err := e.FindCandidates(r, nil, 5, now); !errors.Is(err, ErrNoLocation) {
		t.Errorf("FindCandidates for a request at 0, 0 = %v, %v; want ErrNoLocation", names(res.Candidates), err)
	}
	if ok, _, err := e.StillEligibleAsStored(r, bob, now); ok || !errors.Is(err, ErrNoLocation) {
		t.Errorf("StillEligibleAsStored at 0, 0 = %v, %v; want ErrNoLocation", ok, err)
	}
	// Either coordinate alone at 0 is a real place: Greenwich, the equator.
	greenwich := vol("cat", 0, 0, func(v *pb.Volunteer) { v.Home.LatLng = &pb.LatLng{Latitude: 51.4779} })
	if err := e.UpsertVolunteer(greenwich); err != nil {
		t.Errorf("UpsertVolunteer on the meridian = %v", err)
	}
}
