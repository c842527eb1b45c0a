package matcher

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A volunteer on "St Machar Drive" and a request on "Saint Machar Drive",
// in the same postcode: one street, and the same-street bonus.
func TestSameStreetSaintSpelledOut(t *testing.T) {
	e := engineWith(t, vol("a", 300, 0, func(v *pb.Volunteer) { v.Home.Street = "St Machar Drive" }))
	r := req(func(r *pb.HelpRequest) { r.Location.Street = "Saint Machar Drive" })
	res, err := e.FindCandidates(r, nil, 5, now)
	if err != nil || len(res.Candidates) != 1 {
		t.Fatalf("%v %v", res, err)
	}
	if c := res.Candidates[0]; !c.SameStreet {
		t.Errorf("no same-street bonus: %s", c.Explain())
	}
}

// TestOneDoorStreetWrittenTwoWays: the same caller, the same postcode
// unit, meeting times, the street written two ways by the helpline ("St"
// and "Saint", or left out the second time): one door. README: "of one
// requester's requests whose windows meet, one volunteer takes them all or
// the rest wait".
func TestOneDoorStreetWrittenTwoWays(t *testing.T) {
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	request := func(name, street string) DispatchRequest {
		return DispatchRequest{Requester: "x", Request: req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Location.Street = street
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at(10)), EndTime: timestamppb.New(at(12))}}
		})}
	}
	one := func(v *pb.Volunteer) { v.Capacity = 1; v.Availability.Weekly = everyDay(0, 24) }
	for _, streets := range [][2]string{{"Union Street", "Union Street"}, {"Union Street", ""}, {"", "Union St"}, {"St Machar Dr", "Saint Machar Drive"}} {
		e := engineWith(t, vol("a", 100, 0, one), vol("b", 200, 0, one))
		plan, err := e.PlanDispatch([]DispatchRequest{request("r1", streets[0]), request("r2", streets[1])}, 20, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Offers) != 1 || plan.SameDoor != 1 {
			t.Errorf("streets %q: %d offers, same door %d; want one volunteer at the door", streets, len(plan.Offers), plan.SameDoor)
		}
	}
}
