package matcher

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Two jobs held at one door at one time are one round: with that done,
// the volunteer has room for other work around it.
func TestHeldJobsAtOneDoorAreOneRound(t *testing.T) {
	at := func(h, m int) time.Time { return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	held := func(name string, from, to time.Time, need pb.Need) *pb.Commitment {
		return onUnionStreet(&pb.Commitment{HelpRequest: "helpRequests/" + name, Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}, Needs: []pb.Need{need}}, "AB15 4")
	}
	v := vol("x", 100, 0, func(v *pb.Volunteer) {
		v.Capacity = 5
		v.Availability.Weekly = everyDay(0, 24)
		v.Commitments = []*pb.Commitment{
			held("a", at(10, 0), at(11, 0), pb.Need_NEED_GROCERY_SHOPPING),
			held("b", at(10, 0), at(11, 0), pb.Need_NEED_PRESCRIPTION_COLLECTION),
		}
	})
	e := engineWith(t, v)
	// Shopping any time from 9 to 17: after the 10-11 round there is all afternoon.
	r := req(func(r *pb.HelpRequest) {
		r.Name = "helpRequests/new"
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at(9, 0)), EndTime: timestamppb.New(at(17, 0))}}
	})
	ok, why, err := e.Eligible(r, nil, "volunteers/x", now)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("not eligible: %v (%s)", why.Reason, why.Why())
	}
}

// One door's most urgent request, which nobody can take, does not hold up
// another of its requests that somebody can.
func TestSameDoorUncoveredDoesNotHoldUpTheRest(t *testing.T) {
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	mk := func(name string, urg pb.Urgency, needs ...pb.Need) DispatchRequest {
		return DispatchRequest{Requester: "x", Request: req(func(r *pb.HelpRequest) {
			r.Name, r.Urgency, r.Needs = "helpRequests/"+name, urg, needs
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at(10)), EndTime: timestamppb.New(at(14))}}
		})}
	}
	// Nobody drives, so the urgent lift has no candidate; the shopping has one.
	e := engineWith(t, vol("a", 100, 0, func(v *pb.Volunteer) { v.Capacity = 2; v.Availability.Weekly = everyDay(0, 24) }))
	reqs := []DispatchRequest{mk("lift", pb.Urgency_URGENCY_CRITICAL, pb.Need_NEED_TRANSPORT), mk("shop", pb.Urgency_URGENCY_NORMAL, pb.Need_NEED_GROCERY_SHOPPING)}
	plan, err := e.PlanDispatch(reqs, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Offers) != 1 || plan.NoCandidates != 1 || plan.SameDoor != 0 {
		t.Fatalf("offers %v, %d without candidates, %d waiting for their door's volunteer; want the shopping offered to a, and the lift without candidates",
			plan.Offers, plan.NoCandidates, plan.SameDoor)
	}
}

// Two doors' requests given to one volunteer must fit one after another:
// an hour on Union Street and an hour on Crown Street, both 11-12, do not.
func TestTwoDoorsAtOnceClash(t *testing.T) {
	at := func(h, m int) time.Time { return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	mk := func(name, requester, street string, from, to time.Time) DispatchRequest {
		return DispatchRequest{Requester: requester, Request: req(func(r *pb.HelpRequest) {
			r.Name, r.Needs = "helpRequests/"+name, []pb.Need{pb.Need_NEED_OTHER}
			r.Location.Street = street
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}}
		})}
	}
	e := engineWith(t, vol("v", 100, 0, func(v *pb.Volunteer) { v.Capacity = 4; v.Availability.Weekly = everyDay(0, 24) }))
	reqs := []DispatchRequest{
		mk("l1", "x", "Union Street", at(10, 0), at(11, 30)),
		mk("f1", "x", "Union Street", at(11, 0), at(12, 0)),
		mk("l2", "y", "Crown Street", at(11, 30), at(13, 0)),
		mk("f2", "y", "Crown Street", at(11, 0), at(12, 0)),
	}
	plan, err := e.PlanDispatch(reqs, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range plan.Offers {
		got[o.HelpRequest] = true
	}
	if got["helpRequests/f1"] && got["helpRequests/f2"] {
		t.Fatalf("v is sent to Union Street 11-12 and Crown Street 11-12 (an hour's job each)")
	}
}

// A request meeting one that already has a volunteer coming (Accompany)
// goes to that volunteer too, or waits: never to a second one.
func TestSameDoorFollowsTheVolunteerComing(t *testing.T) {
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	mk := func(name, accompany string, from, to time.Time) DispatchRequest {
		return DispatchRequest{Requester: "x", Accompany: accompany, Request: req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}}
		})}
	}
	two := func(v *pb.Volunteer) { v.Capacity = 3; v.Availability.Weekly = everyDay(0, 24) }
	e := engineWith(t, vol("v", 900, 0, two), vol("w", 100, 0, two))
	plan, err := e.PlanDispatch([]DispatchRequest{mk("b", "volunteers/v", at(10), at(12)), mk("c", "", at(11), at(13))}, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range plan.Offers {
		got[o.HelpRequest] = o.Volunteer
	}
	if got["helpRequests/b"] != "" && got["helpRequests/c"] != "" && got["helpRequests/b"] != got["helpRequests/c"] {
		t.Fatalf("two volunteers at one door at once: %v", got)
	}
}

// A held job whose window has begun can only be done from now on: at
// 10:30, an hour's job held for 9-11 leaves no hour free before 11:30.
func TestHeldJobsCannotBeDoneInThePast(t *testing.T) {
	at := func(h, m int) time.Time { return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	v := vol("x", 100, 0, func(v *pb.Volunteer) {
		v.Capacity = 5
		v.Availability.Weekly = everyDay(0, 24)
		v.Commitments = []*pb.Commitment{{HelpRequest: "helpRequests/held", Needs: []pb.Need{pb.Need_NEED_OTHER},
			Window: &pb.TimeWindow{StartTime: timestamppb.New(at(9, 0)), EndTime: timestamppb.New(at(11, 0))}}}
	})
	e := engineWith(t, v)
	r := req(func(r *pb.HelpRequest) {
		r.Name, r.Needs = "helpRequests/new", []pb.Need{pb.Need_NEED_OTHER}
		r.Location.Street = "Crown Street"
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at(10, 30)), EndTime: timestamppb.New(at(11, 30))}}
	})
	// At 10:30 the held hour's job can only be done 10:30-11:00 (it ends at
	// 11), leaving no hour for the new one before 11:30.
	ok, _, err := e.Eligible(r, nil, "volunteers/x", at(10, 30))
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Fatalf("eligible: the held job was placed before now")
	}
}
