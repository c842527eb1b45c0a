package matcher

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestUKIsTheFirstZone: the tag's hours, the night shortcuts and the
// block aggregates hold for volunteers in the engine's first time zone;
// the rest are "another zone", read on their records. The first zone was
// whichever the first volunteer loaded gave, so a store whose first
// record was a befriender in New York made every UK volunteer "another
// zone" after a restart, and every shortcut went off (answers right, but
// slow). The UK's zone comes first whatever the load order.
func TestUKIsTheFirstZone(t *testing.T) {
	e := engineWith(t,
		vol("abroad", 0, 0, func(v *pb.Volunteer) { v.Availability.TimeZone = "America/New_York" }),
		vol("home", 100, 100))
	id, ok := e.ids.find(e, "volunteers/home")
	if !ok {
		t.Fatal("volunteer not found")
	}
	if loc := e.locList[e.hot[id].loc]; e.hot[id].loc != 0 {
		t.Errorf("a UK volunteer loaded after one abroad is in zone %d (%v), not the first", e.hot[id].loc, loc)
	}
	abroad, _ := e.ids.find(e, "volunteers/abroad")
	if e.hot[abroad].loc == 0 {
		t.Errorf("the volunteer in New York is in the first zone")
	}
}
