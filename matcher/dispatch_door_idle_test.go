package matcher

import (
	"maps"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A request kept waiting for the volunteer going to its door frees the
// volunteer the plan gave it: they go to another request in the same
// run, not idle while that one waits for a volunteer busy elsewhere.
func TestDispatchDoorWaitFreesItsVolunteer(t *testing.T) {
	at := func(h int) *timestamppb.Timestamp { return timestamppb.New(monday.Add(time.Duration(h) * time.Hour)) }
	request := func(name string, dn float64, street string, u pb.Urgency, from, to int, edit ...func(*pb.HelpRequest)) *pb.HelpRequest {
		return req(append([]func(*pb.HelpRequest){func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Urgency = u
			lat, lng := offset(dn, 0)
			r.Location = &pb.Location{Postcode: "AB10 9ZZ", Street: street, LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: at(from), EndTime: at(to)}}
		}}, edit...)...)
	}
	reach := func(m int32, skills ...string) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			v.MaxDistanceMetres, v.Skills = m, skills
			v.Availability.Weekly = everyDay(0, 24)
		}
	}
	// Ann reaches only the door; Bob, who speaks Welsh, the door and the
	// critical request; Dee the critical request and the low one far out.
	e := engineWith(t, vol("ann", -300, 0, reach(400)), vol("bob", 300, 0, reach(5000, "welsh")), vol("dee", 1600, 0, reach(5000)))
	drs := []DispatchRequest{
		{Requester: "x", Request: request("high", 0, "Crown Street", pb.Urgency_URGENCY_HIGH, 10, 12)},
		{Requester: "x", Request: request("welsh", 0, "Crown Street", pb.Urgency_URGENCY_LOW, 10, 12, func(r *pb.HelpRequest) { r.RequiredSkills = []string{"welsh"} })},
		{Request: request("crit", 1000, "Bon Accord Street", pb.Urgency_URGENCY_CRITICAL, 14, 16)},
		{Request: request("low", 2300, "Holburn Street", pb.Urgency_URGENCY_LOW, 14, 16)},
	}
	plan, err := e.PlanDispatch(drs, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range plan.Offers {
		got[o.HelpRequest[len("helpRequests/"):]] = o.Volunteer[len("volunteers/"):]
	}
	want := map[string]string{"high": "ann", "crit": "bob", "low": "dee"}
	if !maps.Equal(got, want) || plan.SameDoor != 1 || plan.Uncovered != 1 {
		t.Fatalf("plan %v (same door %d, uncovered %d), want %v, 1 waiting for the door", got, plan.SameDoor, plan.Uncovered, want)
	}
}
