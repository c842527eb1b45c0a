package matcher

import (
	"maps"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A job moved to make room for a request lost to a clash must not take
// the room a caller's other request at the same door needs with the
// door's volunteer: a low request covered at the price of a critical one
// kept waiting is a worse plan than none moved.
func TestDispatchClashMoveKeepsRoomForTheDoor(t *testing.T) {
	at := func(h, m int) *timestamppb.Timestamp {
		return timestamppb.New(monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute))
	}
	request := func(name string, dn float64, street string, u pb.Urgency, from, to *timestamppb.Timestamp) *pb.HelpRequest {
		return req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Urgency = u
			lat, lng := offset(dn, 0)
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street, LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: from, EndTime: to}}
		})
	}
	capacity := func(n int32) func(*pb.Volunteer) { return func(v *pb.Volunteer) { v.Capacity = n } }
	// Lee can do the low one and the high one, which clash; Wes the high
	// one and the caller's two at their door in the afternoon; Xan only
	// the caller's second, nearer them than Wes.
	low := func() DispatchRequest {
		return DispatchRequest{Request: request("low", -500, "Alpha Road", pb.Urgency_URGENCY_LOW, at(10, 0), at(11, 30))}
	}
	high := func() DispatchRequest {
		return DispatchRequest{Request: request("high", 700, "Beta Road", pb.Urgency_URGENCY_HIGH, at(10, 0), at(11, 30))}
	}
	crit1 := func() DispatchRequest {
		return DispatchRequest{Requester: "x", Request: request("crit1", 2300, "Gamma Road", pb.Urgency_URGENCY_CRITICAL, at(14, 0), at(16, 0))}
	}
	crit2 := func() DispatchRequest {
		return DispatchRequest{Requester: "x", Request: request("crit2", 3300, "Gamma Road", pb.Urgency_URGENCY_CRITICAL, at(14, 0), at(16, 0))}
	}
	// Wes is already going there, for a visit crit1 (in Welsh) cannot join.
	comingForWelsh := crit1()
	comingForWelsh.Accompany = "volunteers/wes"
	comingForWelsh.Request.RequiredSkills = []string{"welsh"}
	tests := []struct {
		name string
		wes  int32
		drs  []DispatchRequest
		want map[string]string
	}{
		{"the door's volunteer holds the first", 2, []DispatchRequest{low(), high(), crit1(), crit2()},
			map[string]string{"high": "lee", "crit1": "wes", "crit2": "wes"}},
		// crit2 goes to Wes, and crit1 waits.
		{"the door's volunteer is already coming", 1, []DispatchRequest{low(), high(), comingForWelsh, crit2()},
			map[string]string{"high": "lee", "crit2": "wes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engineWith(t, vol("lee", 0, 0, capacity(2)), vol("wes", 2000, 0, capacity(tt.wes)), vol("xan", 4000, 0, capacity(1)))
			plan, err := e.PlanDispatch(tt.drs, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			got := planned(plan)
			if !maps.Equal(got, tt.want) {
				t.Fatalf("plan %v (same door %d, uncovered %d), want %v: the critical ones before the low one", got, plan.SameDoor, plan.Uncovered, tt.want)
			}
		})
	}
}
