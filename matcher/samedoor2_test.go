package matcher

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func clock(h, m int) time.Time {
	return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func span(from, to time.Time) *pb.TimeWindow {
	return &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}
}

// A held job that does not meet a request's window can still push another
// held job into its time: 10-11 and 10-12 held leave nothing at 11-12.
func TestBusyThroughAChainOfJobs(t *testing.T) {
	v := vol("x", 100, 0, func(v *pb.Volunteer) {
		v.Capacity = 5
		v.Availability.Weekly = everyDay(0, 24)
		v.Commitments = []*pb.Commitment{
			{HelpRequest: "helpRequests/c1", Needs: []pb.Need{pb.Need_NEED_OTHER}, Window: span(clock(10, 0), clock(11, 0))},
			{HelpRequest: "helpRequests/c2", Needs: []pb.Need{pb.Need_NEED_OTHER}, Window: span(clock(10, 0), clock(12, 0))},
		}
	})
	e := engineWith(t, v)
	r := req(func(r *pb.HelpRequest) {
		r.Name, r.Needs = "helpRequests/new", []pb.Need{pb.Need_NEED_OTHER}
		r.Timing = &pb.HelpRequest_Window{Window: span(clock(11, 0), clock(12, 0))}
	})
	// c1 must be 10-11, so c2 11-12, leaving no hour for new 11-12.
	ok, _, err := e.Eligible(r, nil, "volunteers/x", now)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Fatalf("eligible: c1 10-11 forces c2 to 11-12, the new job's only hour")
	}
}

// Moving a request onto its door's volunteer counts every job they hold
// and are planned, as one can push another into its time.
func TestSameDoorMoveCountsEveryJob(t *testing.T) {
	all := func(v *pb.Volunteer) { v.Capacity = 5; v.Availability.Weekly = everyDay(0, 24) }
	v := vol("v", 0, 0, all, func(v *pb.Volunteer) {
		v.Commitments = []*pb.Commitment{{HelpRequest: "helpRequests/held", Needs: []pb.Need{pb.Need_NEED_OTHER}, Window: span(clock(10, 0), clock(11, 0))}}
	})
	w := vol("w", 1200, 0, all)
	mk := func(name, requester, accompany, street string, dn, de float64, from, to time.Time) DispatchRequest {
		return DispatchRequest{Requester: requester, Accompany: accompany, Request: req(func(r *pb.HelpRequest) {
			r.Name, r.Needs = "helpRequests/"+name, []pb.Need{pb.Need_NEED_OTHER}
			lat, lng := offset(dn, de)
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street, LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: span(from, to)}
		})}
	}
	reqs := []DispatchRequest{
		mk("p", "y", "", "Crown Street", 0, -1000, clock(10, 0), clock(12, 0)),             // only v reaches it
		mk("a", "x", "volunteers/v", "Union Street", 1000, 0, clock(11, 30), clock(14, 0)), // v already going to x's door
		mk("q", "x", "", "Union Street", 1000, 0, clock(11, 0), clock(12, 0)),              // meets a; w is nearer
	}
	e := engineWith(t, v, w)
	plan, err := e.PlanDispatch(reqs, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range plan.Offers {
		got[o.HelpRequest] = o.Volunteer
	}
	if got["helpRequests/p"] == "volunteers/v" && got["helpRequests/q"] == "volunteers/v" {
		t.Fatalf("v holds 10-11 elsewhere, so p (elsewhere, 10-12) is 11-12, and q (x's door, 11-12) clashes: %v", got)
	}
}

// Two doors competing for one volunteer's last place get the same plan
// every run.
func TestSameDoorPlansAreDeterministic(t *testing.T) {
	all := func(v *pb.Volunteer) { v.Availability.Weekly = everyDay(0, 24) }
	// V: 3 places, the only driver; W1/W2 nearer for the shopping.
	v := vol("v", 0, 0, all, func(v *pb.Volunteer) {
		v.Capacity = 3
		v.Skills = []string{"driver"}
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED}
	})
	w1 := vol("w1", 1000, 0, all, func(v *pb.Volunteer) { v.Capacity = 3 })
	w2 := vol("w2", -1000, 0, all, func(v *pb.Volunteer) { v.Capacity = 3 })
	mk := func(name, requester string, dn float64, urg pb.Urgency, need pb.Need) DispatchRequest {
		return DispatchRequest{Requester: requester, Request: req(func(r *pb.HelpRequest) {
			r.Name, r.Needs, r.Urgency = "helpRequests/"+name, []pb.Need{need}, urg
			lat, lng := offset(dn, 0)
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: "Street " + requester, LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: span(clock(8, 0), clock(20, 0))}
		})}
	}
	reqs := []DispatchRequest{
		mk("a1", "x", 1000, pb.Urgency_URGENCY_HIGH, pb.Need_NEED_TRANSPORT),
		mk("a2", "x", 1000, pb.Urgency_URGENCY_NORMAL, pb.Need_NEED_OTHER),
		mk("b1", "y", -1000, pb.Urgency_URGENCY_HIGH, pb.Need_NEED_TRANSPORT),
		mk("b2", "y", -1000, pb.Urgency_URGENCY_NORMAL, pb.Need_NEED_OTHER),
	}
	e := engineWith(t, v, w1, w2)
	seen := map[string]int{}
	for range 40 {
		plan, err := e.PlanDispatch(reqs, 20, now)
		if err != nil {
			t.Fatal(err)
		}
		seen[fmt.Sprint(plan.Offers)]++
	}
	if len(seen) > 1 {
		t.Fatalf("%d different plans for one input: %v", len(seen), seen)
	}
}

// A door whose coming volunteer the engine does not hold (left out of
// matching) waits: nobody else is sent there.
func TestSameDoorComingVolunteerUnknown(t *testing.T) {
	all := func(v *pb.Volunteer) { v.Capacity = 3; v.Availability.Weekly = everyDay(0, 24) }
	e := engineWith(t, vol("w", 100, 0, all))
	mk := func(name, accompany string, from, to time.Time) DispatchRequest {
		return DispatchRequest{Requester: "x", Accompany: accompany, Request: req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Timing = &pb.HelpRequest_Window{Window: span(from, to)}
		})}
	}
	plan, err := e.PlanDispatch([]DispatchRequest{mk("a", "volunteers/ghost", clock(10, 0), clock(12, 0)), mk("b", "", clock(11, 0), clock(13, 0))}, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Offers) != 0 || plan.SameDoor != 2 {
		t.Fatalf("offers %v, %d waiting; want none offered, both waiting for the volunteer coming", plan.Offers, plan.SameDoor)
	}
}

// A door with two volunteers coming at different times: a request with
// the second coming never moves to the first.
func TestSameDoorTwoVolunteersComing(t *testing.T) {
	all := func(v *pb.Volunteer) { v.Capacity = 3; v.Availability.Weekly = everyDay(0, 24) }
	e := engineWith(t, vol("v1", 100, 0, all), vol("v2", 200, 0, all))
	mk := func(name, accompany string, from, to time.Time) DispatchRequest {
		return DispatchRequest{Requester: "x", Accompany: accompany, Request: req(func(r *pb.HelpRequest) {
			r.Name, r.Needs = "helpRequests/"+name, []pb.Need{pb.Need_NEED_OTHER}
			r.Timing = &pb.HelpRequest_Window{Window: span(from, to)}
		})}
	}
	// Held elsewhere in the store: v1 at x's door 10-11, v2 at x's door 12-13.
	plan, err := e.PlanDispatch([]DispatchRequest{
		mk("a", "volunteers/v1", clock(10, 30), clock(11, 30)), // meets v1's 10-11
		mk("b", "volunteers/v2", clock(11, 0), clock(12, 30)),  // meets v2's 12-13 (and a)
	}, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range plan.Offers {
		if o.HelpRequest == "helpRequests/b" && o.Volunteer != "volunteers/v2" {
			t.Fatalf("b, whose window meets v2's job at that door, offered to %s: %v", o.Volunteer, plan.Offers)
		}
	}
}
