package matcher

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestZonesAreLoadedOnce: StillEligibleAsStored builds an engine for each
// record it judges, inside an offer's or an accept's write transaction,
// and a dispatch judges so every offer to a volunteer whose record changed
// since the plan. Reading and parsing the zone's file each time was most
// of that judgement's cost (about 60 µs of 65): two engines must share the
// zone one of them loaded.
func TestZonesAreLoadedOnce(t *testing.T) {
	paris := func(v *pb.Volunteer) { v.Availability.TimeZone = "Europe/Paris" }
	a, b := NewEngine(DefaultConfig()), NewEngine(DefaultConfig())
	if err := a.UpsertVolunteer(vol("ann", 0, 0, paris)); err != nil {
		t.Fatal(err)
	}
	if err := b.UpsertVolunteer(vol("bob", 0, 0, paris)); err != nil {
		t.Fatal(err)
	}
	if a.locs["Europe/Paris"] != b.locs["Europe/Paris"] {
		t.Error("each engine read Europe/Paris from its file again")
	}
	if z := a.locs["Europe/Paris"]; z == nil || z.String() != "Europe/Paris" {
		t.Errorf("zone %v", z)
	}
}
