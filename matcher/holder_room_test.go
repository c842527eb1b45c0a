package matcher

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestHolderKeepsOnlyTheRoomTheirOfferTakes: a volunteer holding the offer
// of a request has it counted among their pending offers; when they accept
// it, StillEligible leaves that one out, and only that one. One whose other
// jobs fill their capacity (a coordinator lowered it, say, with the offer
// out) is at capacity all the same.
func TestHolderKeepsOnlyTheRoomTheirOfferTakes(t *testing.T) {
	tests := []struct {
		name                      string
		capacity, active, pending int32
		want                      bool
	}{
		{"the offer is their only job", 1, 0, 1, true},
		{"the offer and one more, room for two", 2, 1, 1, true},
		{"the offer and one more, room for one", 1, 1, 1, false},
		{"the offer and another offer, room for one", 1, 0, 2, false},
		{"the offer and two more, room for two", 2, 2, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := vol("x", 100, 0, func(v *pb.Volunteer) {
				v.Capacity, v.ActiveAssignments, v.PendingOffers = tt.capacity, tt.active, tt.pending
			})
			e := engineWith(t, v)
			ok, why, err := e.StillEligible(req(), nil, "volunteers/x", now)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want || !ok && why.Reason != AtCapacity {
				t.Errorf("StillEligible = %v (%v), want %v", ok, why, tt.want)
			}
			// Not holding it (Eligible), they are full.
			if ok, _, err := e.Eligible(req(), nil, "volunteers/x", now); err != nil || ok {
				t.Errorf("Eligible for another request = %v, %v; want false", ok, err)
			}
		})
	}
}
