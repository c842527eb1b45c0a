package matcher

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// One volunteer to one door at one time is about visits: a befriending
// call from afar (Remote) takes nobody to the door. Dispatch held the
// caller's shopping back for the volunteer it gave their call, or their
// call for the shopper, with a second volunteer free; it plans each on
// its own, and a call neither waits for the volunteer already going to
// the door (Accompany, Crowded, were a store to report them for it) nor
// makes the door's requests wait for its volunteer.
func TestDispatchRemoteIsNoVisit(t *testing.T) {
	at := func(h int) *timestamppb.Timestamp { return timestamppb.New(monday.Add(time.Duration(h) * time.Hour)) }
	shop := func(name string, from, to int) DispatchRequest {
		return DispatchRequest{Requester: "x", Door: "union street", Request: req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: at(from), EndTime: at(to)}}
		})}
	}
	call := func(name string, from, to int) DispatchRequest {
		d := shop(name, from, to)
		d.Request.Needs, d.Request.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
		return d
	}
	coming := func(d DispatchRequest, who string) DispatchRequest { d.Accompany = who; return d }
	crowded := func(d DispatchRequest) DispatchRequest { d.Accompany, d.Crowded = "volunteers/c", true; return d }
	one := func(v *pb.Volunteer) {
		v.Capacity, v.Availability.Weekly = 1, everyDay(0, 24)
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}
	}
	full := func(v *pb.Volunteer) { v.ActiveAssignments = 1 }
	vols := func() []*pb.Volunteer {
		return []*pb.Volunteer{vol("a", 100, 0, one), vol("b", 200, 0, one), vol("c", 300, 0, one, full)}
	}
	tests := []struct {
		name     string
		reqs     []DispatchRequest
		want     int // offers
		sameDoor int
	}{
		{"remote+in-person", []DispatchRequest{call("r1", 10, 11), shop("r2", 10, 12)}, 2, 0},
		{"in-person+remote", []DispatchRequest{shop("r1", 10, 12), call("r2", 10, 11)}, 2, 0},
		{"remote+remote", []DispatchRequest{call("r1", 10, 11), call("r2", 10, 12)}, 2, 0},
		// Two of room for three: outnumbered, not kept for a door.
		{"a call through which two visits would meet", []DispatchRequest{shop("r1", 10, 12), call("r2", 11, 14), shop("r3", 13, 15)}, 2, 0},
		{"a call beside a visit already coming", []DispatchRequest{coming(call("r1", 10, 11), "volunteers/c")}, 1, 0},
		{"a call at a crowded door", []DispatchRequest{crowded(call("r1", 10, 11))}, 1, 0},
		// Still kept for the door's volunteer: the in-person pair.
		{"in-person+in-person", []DispatchRequest{shop("r1", 10, 12), shop("r2", 10, 11)}, 1, 1},
		{"a visit beside a visit already coming", []DispatchRequest{coming(shop("r1", 10, 11), "volunteers/c")}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engineWith(t, vols()...)
			plan, err := e.PlanDispatch(tt.reqs, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Offers) != tt.want || plan.SameDoor != tt.sameDoor {
				t.Errorf("plan %v, same door %d; want %d offers, %d same door", planned(plan), plan.SameDoor, tt.want, tt.sameDoor)
			}
		})
	}
}
