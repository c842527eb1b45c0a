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
	got := planned(plan)
	want := map[string]string{"high": "ann", "crit": "bob", "low": "dee"}
	if !maps.Equal(got, want) || plan.SameDoor != 1 || plan.Uncovered != 1 {
		t.Fatalf("plan %v (same door %d, uncovered %d), want %v, 1 waiting for the door", got, plan.SameDoor, plan.Uncovered, want)
	}
}

// TestFreesForOthersIsCheap: the walk runs in most large dispatches (any
// caller with two requests at one time may have one waiting), so it must
// cost little beside the plan: a few slices, not a map entry and a list
// per volunteer (some 5 ms of a 20,000-request plan).
func TestFreesForOthersIsCheap(t *testing.T) {
	const nreq, nvol = 20_000, 40_000
	p := &AssignmentProblem{Urgency: make([]int8, nreq), Edges: make([][]Edge, nreq), Capacity: make([]int32, nvol)}
	a := Assignment{Volunteer: make([]int32, nreq)}
	o := settled{final: make([]int64, nreq), waiting: make([]bool, nreq)}
	for i := range nreq {
		for j := range 20 {
			p.Edges[i] = append(p.Edges[i], Edge{Volunteer: int32((i + j*997) % nvol)})
		}
		a.Volunteer[i], o.final[i] = int32(i), int64(i)
		switch {
		case i%10 == 0: // uncovered: the walk starts here
			a.Volunteer[i], o.final[i] = -1, -1
		case i == nreq-1: // waiting, its volunteer out of everyone's reach
			a.Volunteer[i], o.final[i], o.waiting[i] = nvol-1, -1, true
		}
	}
	if freesForOthers(p, a, o) {
		t.Fatal("a path to a volunteer nobody else can reach")
	}
	if n := testing.AllocsPerRun(3, func() { freesForOthers(p, a, o) }); n > 10 {
		t.Errorf("freesForOthers made %.0f allocations for %d requests", n, nreq)
	}
}
