package matcher

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func TestFits(t *testing.T) {
	tests := []struct {
		name string
		jobs []job
		want bool
	}{
		{"none", nil, true},
		{"one in its window", []job{{0, 60, 60}}, true},
		{"two side by side", []job{{0, 60, 60}, {60, 120, 60}}, true},
		{"two in one slot", []job{{0, 60, 60}, {0, 60, 1}}, false},
		{"two in a wide window", []job{{0, 120, 60}, {0, 120, 60}}, true},
		// By deadline first, the later-starting job pushes the other past
		// its end; the other way round both fit.
		{"the earlier deadline is not first", []job{{20, 45, 20}, {0, 50, 25}}, true},
		{"three, no order fits", []job{{0, 100, 40}, {0, 100, 40}, {0, 100, 30}}, false},
		{"three, one order fits", []job{{0, 100, 40}, {0, 100, 30}, {0, 100, 30}}, true},
	}
	for _, tt := range tests {
		if got := fits(append([]job(nil), tt.jobs...)); got != tt.want {
			t.Errorf("%s: fits = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A volunteer who holds a job at a time is not sent to another place then:
// only where their jobs, each its need's minutes, still fit one after
// another in their windows.
func TestBusyWithAJobThen(t *testing.T) {
	at := func(h, m int) time.Time { return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	held := func(from, to time.Time, needs ...pb.Need) *pb.Commitment {
		return &pb.Commitment{HelpRequest: "helpRequests/held", Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}, Needs: needs}
	}
	window := func(from, to time.Time, need pb.Need) func(*pb.HelpRequest) {
		return func(r *pb.HelpRequest) {
			r.Name, r.Needs = "helpRequests/new", []pb.Need{need}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}}
		}
	}
	tests := []struct {
		name string
		held []*pb.Commitment
		req  func(*pb.HelpRequest)
		busy bool
	}{
		{"a lift 10-11, shopping 10-11", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)}, window(at(10, 0), at(11, 0), pb.Need_NEED_GROCERY_SHOPPING), true},
		{"a lift 10-11, shopping 10-14", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)}, window(at(10, 0), at(14, 0), pb.Need_NEED_GROCERY_SHOPPING), false},
		{"a lift 10-11, a prescription 10:30-11:30", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)}, window(at(10, 30), at(11, 30), pb.Need_NEED_PRESCRIPTION_COLLECTION), true},
		{"a lift 10-11, a prescription 10:30-12:00", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)}, window(at(10, 30), at(12, 0), pb.Need_NEED_PRESCRIPTION_COLLECTION), false},
		{"a lift 9-10, shopping 10-11", []*pb.Commitment{held(at(9, 0), at(10, 0), pb.Need_NEED_TRANSPORT)}, window(at(10, 0), at(11, 0), pb.Need_NEED_GROCERY_SHOPPING), false},
		{"shopping by a deadline", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)}, func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(at(11, 0))}
		}, false},
		{"its own job (the offer it holds)", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)}, func(r *pb.HelpRequest) {
			window(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT)(r)
			r.Name = "helpRequests/held"
		}, false},
		{"a lift 10-11 on the same street, shopping 10-11: one round", []*pb.Commitment{onUnionStreet(held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT))}, window(at(10, 0), at(11, 0), pb.Need_NEED_GROCERY_SHOPPING), false},
		{"a lift 10-11 on the same street, a call from afar 10-11: no round", []*pb.Commitment{onUnionStreet(held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT))}, func(r *pb.HelpRequest) {
			window(at(10, 0), at(11, 0), pb.Need_NEED_BEFRIENDING_CALL)(r)
			r.RemoteOk = true
		}, true},
		{"a lift 10-11 on the same street, a call at the door 10-11: one round", []*pb.Commitment{onUnionStreet(held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT))}, window(at(10, 0), at(11, 0), pb.Need_NEED_BEFRIENDING_CALL), false},
		{"a lift 10-11 on Union Street elsewhere, shopping 10-11", []*pb.Commitment{onUnionStreet(held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT), "AB15 4")}, window(at(10, 0), at(11, 0), pb.Need_NEED_GROCERY_SHOPPING), true},
		{"two held already clash", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT), held(at(10, 0), at(11, 0), pb.Need_NEED_ERRANDS)}, window(at(10, 0), at(18, 0), pb.Need_NEED_ERRANDS), true},
		// Two that clash leave them no worse off for a job that only
		// touches them, ending as they start or starting as they end.
		{"two held already clash, shopping 11-12 after them", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT), held(at(10, 0), at(11, 0), pb.Need_NEED_ERRANDS)}, window(at(11, 0), at(12, 0), pb.Need_NEED_GROCERY_SHOPPING), false},
		{"two held already clash, shopping 9-10 before them", []*pb.Commitment{held(at(10, 0), at(11, 0), pb.Need_NEED_TRANSPORT), held(at(10, 0), at(11, 0), pb.Need_NEED_ERRANDS)}, window(at(9, 0), at(10, 0), pb.Need_NEED_GROCERY_SHOPPING), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := vol("x", 100, 0, func(v *pb.Volunteer) {
				v.Capacity, v.Commitments = 5, tt.held
				v.Skills = append(v.Skills, "driver")
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED}
				v.Availability.Weekly = everyDay(0, 24)
			})
			r := req(tt.req)
			e := engineWith(t, v)
			ok, why, err := e.Eligible(r, nil, "volunteers/x", now)
			if err != nil {
				t.Fatal(err)
			}
			if ok == tt.busy || !ok && why.Reason != Busy {
				t.Fatalf("eligible = %v (%v), want busy = %v", ok, why, tt.busy)
			}
			res, err := e.FindCandidates(r, nil, 5, now)
			if err != nil {
				t.Fatal(err)
			}
			if tt.busy && res.Summary() != "1 is helping someone else then" {
				t.Errorf("summary %q", res.Summary())
			}
			if !tt.busy && len(res.Candidates) != 1 {
				t.Errorf("candidates %v, summary %q", names(res.Candidates), res.Summary())
			}
		})
	}
}

// Dispatch does not give one volunteer two jobs at one time in two
// places: the assignment knows only capacity, and the clash is resolved
// by giving one of them to someone else, or to nobody this run.
func TestDispatchNotTwoPlacesAtOnce(t *testing.T) {
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	request := func(name string, dn float64, from, to time.Time) *pb.HelpRequest {
		return req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			lat, lng := offset(dn, 0)
			r.Location = &pb.Location{Postcode: "AB10 9ZZ", LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}}
		})
	}
	two := func(v *pb.Volunteer) { v.Capacity = 2; v.Availability.Weekly = everyDay(0, 24) }
	tests := []struct {
		name string
		vols []*pb.Volunteer
		reqs []*pb.HelpRequest
		want map[string]string // request -> volunteer
	}{
		{"one volunteer, two shops at 10-11",
			[]*pb.Volunteer{vol("a", 0, 0, two)},
			[]*pb.HelpRequest{request("r1", 0, at(10), at(11)), request("r2", 500, at(10), at(11))},
			map[string]string{"r1": "a"}},
		{"a second volunteer takes the other",
			[]*pb.Volunteer{vol("a", 0, 0, two), vol("b", 1400, 0, two)},
			[]*pb.HelpRequest{request("r1", 0, at(10), at(11)), request("r2", 500, at(10), at(11))},
			map[string]string{"r1": "a", "r2": "b"}},
		{"room for both, 10-14",
			[]*pb.Volunteer{vol("a", 0, 0, two)},
			[]*pb.HelpRequest{request("r1", 0, at(10), at(14)), request("r2", 500, at(10), at(14))},
			map[string]string{"r1": "a", "r2": "a"}},
		{"one street, one round",
			[]*pb.Volunteer{vol("a", 0, 0, two)},
			[]*pb.HelpRequest{req(), req(func(r *pb.HelpRequest) { r.Name = "helpRequests/r2" })},
			map[string]string{"r1": "a", "r2": "a"}},
		{"one after the other",
			[]*pb.Volunteer{vol("a", 0, 0, two)},
			[]*pb.HelpRequest{request("r1", 0, at(10), at(12)), request("r2", 500, at(12), at(14))},
			map[string]string{"r1": "a", "r2": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engineWith(t, tt.vols...)
			var drs []DispatchRequest
			for _, r := range tt.reqs {
				drs = append(drs, DispatchRequest{Request: r})
			}
			plan, err := e.PlanDispatch(drs, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			got := planned(plan)
			if len(got) != len(tt.want) || plan.Uncovered != len(tt.reqs)-len(tt.want) {
				t.Fatalf("plan %v (uncovered %d), want %v", got, plan.Uncovered, tt.want)
			}
			for r, v := range tt.want {
				if got[r] != v {
					t.Errorf("plan %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// onUnionStreet places a commitment on the test requests' street, in
// their postcode sector or the one given, as the store writes it.
func onUnionStreet(c *pb.Commitment, sector ...string) *pb.Commitment {
	c.Location = &pb.Location{Street: "union st", Postcode: append(sector, "AB10 1")[0]}
	return c
}

// One door, one volunteer: of one requester's requests whose windows meet,
// dispatch sends one volunteer to all or offers only the first; and a
// request whose requester already has someone coming then goes to them or
// waits.
func TestDispatchOneVolunteerPerDoor(t *testing.T) {
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	request := func(name, requester, accompany string, from, to time.Time) DispatchRequest {
		return DispatchRequest{Requester: requester, Accompany: accompany, Request: req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)}}
		})}
	}
	capacity := func(n int32) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) { v.Capacity = n; v.Availability.Weekly = everyDay(0, 24) }
	}
	tests := []struct {
		name     string
		vols     []*pb.Volunteer
		reqs     []DispatchRequest
		want     map[string]string
		sameDoor int
	}{
		{"two requests, one visit",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(2)), vol("b", 200, 0, capacity(1))},
			[]DispatchRequest{request("r1", "x", "", at(10), at(12)), request("r2", "x", "", at(11), at(13))},
			map[string]string{"r1": "a", "r2": "a"}, 0},
		{"room for one: the other waits",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(1)), vol("b", 200, 0, capacity(1))},
			[]DispatchRequest{request("r1", "x", "", at(10), at(12)), request("r2", "x", "", at(11), at(13))},
			map[string]string{"r1": "a"}, 1},
		{"the more urgent leads",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(1)), vol("b", 200, 0, capacity(1))},
			[]DispatchRequest{request("r1", "x", "", at(10), at(12)), func() DispatchRequest {
				d := request("r2", "x", "", at(11), at(13))
				d.Request.Urgency = pb.Urgency_URGENCY_CRITICAL
				return d
			}()},
			map[string]string{"r2": "a"}, 1},
		{"different times, different visits",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(1)), vol("b", 200, 0, capacity(1))},
			[]DispatchRequest{request("r1", "x", "", at(10), at(12)), request("r2", "x", "", at(14), at(16))},
			map[string]string{"r1": "a", "r2": "b"}, 0},
		{"different requesters",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(1)), vol("b", 200, 0, capacity(1))},
			[]DispatchRequest{request("r1", "x", "", at(10), at(12)), request("r2", "y", "", at(11), at(13))},
			map[string]string{"r1": "a", "r2": "b"}, 0},
		{"someone is already coming",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(1)), vol("b", 900, 0, capacity(2))},
			[]DispatchRequest{request("r1", "x", "volunteers/b", at(10), at(12))},
			map[string]string{"r1": "b"}, 0},
		{"someone is already coming, with no room",
			[]*pb.Volunteer{vol("a", 100, 0, capacity(1)), vol("b", 900, 0, capacity(1), func(v *pb.Volunteer) { v.ActiveAssignments = 1 })},
			[]DispatchRequest{request("r1", "x", "volunteers/b", at(10), at(12))},
			map[string]string{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engineWith(t, tt.vols...)
			plan, err := e.PlanDispatch(tt.reqs, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			got := planned(plan)
			if len(got) != len(tt.want) || plan.SameDoor != tt.sameDoor || plan.Uncovered != len(tt.reqs)-len(tt.want) {
				t.Fatalf("plan %v, same door %d, uncovered %d; want %v, %d", got, plan.SameDoor, plan.Uncovered, tt.want, tt.sameDoor)
			}
			for r, v := range tt.want {
				if got[r] != v {
					t.Errorf("plan %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// planned is who a plan offers each request to, by id: request -> volunteer.
func planned(plan Plan) map[string]string {
	got := map[string]string{}
	for _, o := range plan.Offers {
		got[strings.TrimPrefix(o.HelpRequest, "helpRequests/")] = strings.TrimPrefix(o.Volunteer, "volunteers/")
	}
	return got
}
