package matcher

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Real places: AB10 1AB on Union Street, Aberdeen, and points around it.
const baseLat, baseLng = 57.149606, -2.096916

// offset moves a point about dn metres north and de metres east.
func offset(dn, de float64) (float64, float64) {
	return baseLat + dn/111320, baseLng + de/(111320*0.5433)
}

// monday is a Monday in winter (GMT) from which test windows are cut.
var monday = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func vol(name string, dn, de float64, edit ...func(*pb.Volunteer)) *pb.Volunteer {
	lat, lng := offset(dn, de)
	v := &pb.Volunteer{
		Name:              "volunteers/" + name,
		Contact:           &pb.Contact{DisplayName: strings.ToUpper(name[:1]) + name[1:]},
		Home:              &pb.Location{Postcode: "AB10 1AF", Street: "Correction Wynd", LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}},
		MaxDistanceMetres: 5000,
		Vetting:           &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_NONE},
		Availability:      &pb.Availability{TimeZone: "Europe/London", Weekly: everyDay(8, 20)},
		Capacity:          1,
	}
	for _, f := range edit {
		f(v)
	}
	return v
}

func everyDay(fromH, toH int32) []*pb.AvailabilitySlot {
	var out []*pb.AvailabilitySlot
	for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		out = append(out, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{Hours: fromH}, EndTime: &pb.TimeOfDay{Hours: toH}})
	}
	return out
}

func req(edit ...func(*pb.HelpRequest)) *pb.HelpRequest {
	r := &pb.HelpRequest{
		Name:     "helpRequests/r1",
		Needs:    []pb.Need{pb.Need_NEED_GROCERY_SHOPPING},
		Urgency:  pb.Urgency_URGENCY_NORMAL,
		Timing:   &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(10 * time.Hour)), EndTime: timestamppb.New(monday.Add(12 * time.Hour))}},
		Location: &pb.Location{Postcode: "AB10 1AB", Street: "Union Street", LatLng: &pb.LatLng{Latitude: baseLat, Longitude: baseLng}},
		State:    pb.HelpRequest_STATE_OPEN,
	}
	for _, f := range edit {
		f(r)
	}
	return r
}

func engineWith(t testing.TB, vols ...*pb.Volunteer) *Engine {
	t.Helper()
	e := NewEngine(DefaultConfig())
	for _, v := range vols {
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func names(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, strings.TrimPrefix(c.Volunteer, "volunteers/"))
	}
	return out
}

// now is before the test windows, so that they lie ahead.
var now = monday.Add(-24 * time.Hour)

// TestEachRuleExcludes gives one volunteer at a time a single reason not to
// help, and checks that it is excluded for exactly that reason while an
// otherwise identical volunteer is eligible.
func TestEachRuleExcludes(t *testing.T) {
	tests := []struct {
		name   string
		vol    func(*pb.Volunteer)
		req    func(*pb.HelpRequest)
		reason Reason
		detail string
	}{
		{"beyond their own limit", func(v *pb.Volunteer) { v.MaxDistanceMetres = 60 }, nil, TooFar, ""},
		{"paused", func(v *pb.Volunteer) { v.Paused = true }, nil, Paused, ""},
		{"held by a coordinator", func(v *pb.Volunteer) { v.Held = true }, nil, Paused, ""},
		{"declined before", nil, func(r *pb.HelpRequest) { r.DeclinedVolunteers = []string{"volunteers/x"} }, DeclinedBefore, ""},
		{"at capacity", func(v *pb.Volunteer) { v.ActiveAssignments = 1 }, nil, AtCapacity, ""},
		{"pending offer fills capacity", func(v *pb.Volunteer) { v.Capacity, v.ActiveAssignments, v.PendingOffers = 2, 1, 1 }, nil, AtCapacity, ""},
		{"missing a required skill", nil, func(r *pb.HelpRequest) { r.RequiredSkills = []string{"welsh"} }, MissingSkill, "welsh"},
		{"transport needs a driver", nil, func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }, MissingSkill, "driver"},
		{"transport needs a basic check", func(v *pb.Volunteer) { v.Skills = []string{"driver"} }, func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }, Vetting, "basic"},
		{"entering the home needs enhanced", func(v *pb.Volunteer) { v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC }, func(r *pb.HelpRequest) { r.EntersHome = true }, Vetting, "enhanced"},
		{"an expired check counts as none", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: 29}}
		}, func(r *pb.HelpRequest) { r.EntersHome = true }, Vetting, "enhanced"},
		{"away that day", func(v *pb.Volunteer) {
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 11, Day: 28}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: 2}}}
		}, nil, Away, ""},
		{"no slot that day", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{Hours: 8}, EndTime: &pb.TimeOfDay{Hours: 20}}}
		}, nil, NotAvailable, ""},
		{"slot ends as the window starts", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_MONDAY, StartTime: &pb.TimeOfDay{Hours: 8}, EndTime: &pb.TimeOfDay{Hours: 10}}}
		}, nil, NotAvailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := vol("x", 100, 0)
			if tt.vol != nil {
				tt.vol(bad)
			}
			good := vol("y", 200, 0, func(v *pb.Volunteer) {
				v.Skills = []string{"driver", "welsh"}
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED}
			})
			r := req()
			if tt.req != nil {
				tt.req(r)
			}
			res, err := engineWith(t, bad, good).FindCandidates(r, nil, 5, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res.Candidates); !slices.Equal(got, []string{"y"}) {
				t.Errorf("candidates %v, want [y]", got)
			}
			want := []Exclusion{{Reason: tt.reason, Detail: tt.detail, Count: 1}}
			if !slices.Equal(res.Exclusions, want) {
				t.Errorf("exclusions %v, want %v", res.Exclusions, want)
			}
		})
	}
}

func TestDistanceLimits(t *testing.T) {
	e := engineWith(t,
		vol("near", 1000, 0),
		vol("far", 2500, 0), // beyond the 1.5 km shopping limit, within its own 5 km
		vol("driver", 6000, 0, func(v *pb.Volunteer) {
			v.Skills = []string{"driver"}
			v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC
			v.MaxDistanceMetres = 10000
		}),
	)
	res, _ := e.FindCandidates(req(), nil, 5, now)
	if got := names(res.Candidates); !slices.Equal(got, []string{"near"}) {
		t.Errorf("shopping: %v", got)
	}
	res, _ = e.FindCandidates(req(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }), nil, 5, now)
	if got := names(res.Candidates); !slices.Equal(got, []string{"driver"}) {
		t.Errorf("transport: %v", got)
	}
	// A phone call can come from anywhere; distance still orders them.
	res, _ = e.FindCandidates(req(func(r *pb.HelpRequest) { r.RemoteOk = true; r.Needs = []pb.Need{pb.Need_NEED_OTHER} }), nil, 5, now)
	if got := names(res.Candidates); len(got) != 3 {
		t.Errorf("remote: %v", got)
	}
}

// TestRemoteOkLiftsNoInPersonLimit: remote_ok on a request stored before
// the server refused such mixes (a befriending call and shopping, or a call
// with someone going inside) must not send a volunteer from beyond the
// shopping limit to the door.
func TestRemoteOkLiftsNoInPersonLimit(t *testing.T) {
	// Both are vetted for anything, so that only distance is judged.
	enhanced := func(v *pb.Volunteer) { v.Vetting.Level = pb.Vetting_DBS_LEVEL_ENHANCED }
	e := engineWith(t, vol("near", 1000, 0, enhanced), vol("far", 2500, 0, enhanced))
	for _, tt := range []struct {
		name string
		edit func(*pb.HelpRequest)
		want []string
	}{
		{"call", func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL} }, []string{"near", "far"}},
		{"call and shopping", func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_GROCERY_SHOPPING}
		}, []string{"near"}},
		{"errands", func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} }, []string{"near"}},
		{"call inside", func(r *pb.HelpRequest) {
			r.Needs, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
		}, []string{"near"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := req(func(r *pb.HelpRequest) { r.RemoteOk = true; tt.edit(r) })
			res, err := e.FindCandidates(r, nil, 5, now)
			if err != nil {
				t.Fatal(err)
			}
			got := names(res.Candidates)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("candidates %v, want %v", got, want)
			}
			if ok, _, _ := e.Eligible(r, nil, "volunteers/far", now); ok != slices.Contains(tt.want, "far") {
				t.Errorf("Eligible(far) = %v", ok)
			}
		})
	}
}

func TestRankingAndTies(t *testing.T) {
	e := engineWith(t,
		vol("a-far", 600, 0),
		vol("b-street", 650, 0, func(v *pb.Volunteer) { v.Home.Street = "union st"; v.Home.Postcode = "AB10 1AF" }),
		vol("c-busy", 300, 0, func(v *pb.Volunteer) {
			// The job stamped a day on was taken while the clock ran ahead:
			// it does not count until its time comes.
			v.RecentAssignmentTimes = []*timestamppb.Timestamp{timestamppb.New(now.Add(-time.Hour)), timestamppb.New(now.Add(-48 * time.Hour)), timestamppb.New(now.Add(-10 * 24 * time.Hour)), timestamppb.New(now.Add(24 * time.Hour))}
		}),
		vol("d-tie", 500, 0),
		vol("e-tie", 500, 0),
		vol("f-helped", 900, 0),
	)
	res, err := e.FindCandidates(req(), []string{"volunteers/f-helped"}, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	// b: 650-200=450; f: 900-500=400; c: 300+2*250=800 (the 10-day-old job
	// no longer counts, the one stamped ahead not yet); d and e: 500, tied,
	// by name; a: 600.
	want := []string{"f-helped", "b-street", "d-tie", "e-tie", "a-far", "c-busy"}
	if got := names(res.Candidates); !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	for _, c := range res.Candidates {
		sum := c.Parts.Distance + c.Parts.SameStreet + c.Parts.SamePostcode + c.Parts.Fairness + c.Parts.Continuity
		if c.Score != sum {
			t.Errorf("%s: score %v is not the sum of its parts %v", c.Volunteer, c.Score, sum)
		}
	}
	if got := res.Candidates[1].Explain(); !strings.HasPrefix(got, "650 m, same street") || !strings.Contains(got, "free Mon 08:00-20:00") {
		t.Errorf("explanation %q", got)
	}
	if got := res.Candidates[5].Explain(); !strings.Contains(got, "2 jobs in the last 7 days") {
		t.Errorf("explanation %q", got)
	}
	if got := res.Candidates[0].Explain(); !strings.Contains(got, "helped this person before") {
		t.Errorf("explanation %q", got)
	}
	if res.Exclusions == nil && len(res.Candidates) < 10 {
		// Fewer than asked for, so the reasons are counted (none here).
		t.Log("no exclusions, as expected")
	}
}

// TestBonusesReachBeyondTheNearest: the search must not stop at the k
// nearest when a slightly farther volunteer scores better.
func TestBonusesReachBeyondTheNearest(t *testing.T) {
	var vs []*pb.Volunteer
	for i := range 30 {
		vs = append(vs, vol(fmt.Sprintf("n%02d", i), 100+float64(i), 0))
	}
	vs = append(vs, vol("helper", 400, 0))
	res, err := engineWith(t, vs...).FindCandidates(req(), []string{"volunteers/helper"}, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Candidates); got[0] != "helper" {
		t.Errorf("the volunteer who helped before (400-500 m) should lead: %v", got)
	}
}

func TestWindowAcrossClockChanges(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct {
		name       string
		start, end time.Time
		slot       [2]int32 // local hours
		day        pb.DayOfWeek
		free       bool
	}{
		// 29 March 2026: clocks go forward at 01:00 GMT to 02:00 BST.
		{"spring: 09:00-10:00 BST is 08:00-09:00 UTC", time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC), [2]int32{9, 10}, pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, true},
		{"spring: a GMT reading would be wrong", time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC), [2]int32{9, 10}, pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, false},
		{"spring: the skipped hour never happens", time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), [2]int32{1, 2}, pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, false},
		// 25 October 2026: clocks go back at 01:00 GMT to 01:00 GMT from 02:00 BST.
		{"autumn: 09:00-10:00 GMT", time.Date(2026, 10, 25, 9, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 10, 0, 0, 0, time.UTC), [2]int32{9, 10}, pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, true},
		{"autumn: the repeated hour happens", time.Date(2026, 10, 25, 1, 10, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 20, 0, 0, time.UTC), [2]int32{1, 2}, pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, true},
		{"summer: 17:00-18:00 BST is 16:00-17:00 UTC", time.Date(2026, 7, 6, 16, 0, 0, 0, time.UTC), time.Date(2026, 7, 6, 17, 0, 0, 0, time.UTC), [2]int32{17, 18}, pb.DayOfWeek_DAY_OF_WEEK_MONDAY, true},
		{"summer: off by the hour", time.Date(2026, 7, 6, 17, 0, 0, 0, time.UTC), time.Date(2026, 7, 6, 18, 0, 0, 0, time.UTC), [2]int32{17, 18}, pb.DayOfWeek_DAY_OF_WEEK_MONDAY, false},
		{"a window across midnight reaches the next day", time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC), [2]int32{9, 10}, pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY, true},
	}
	_ = london
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := vol("x", 100, 0, func(v *pb.Volunteer) {
				v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: tt.day, StartTime: &pb.TimeOfDay{Hours: tt.slot[0]}, EndTime: &pb.TimeOfDay{Hours: tt.slot[1]}}}
			})
			r := req(func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tt.start), EndTime: timestamppb.New(tt.end)}}
			})
			res, err := engineWith(t, v).FindCandidates(r, nil, 1, tt.start.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Candidates) == 1; got != tt.free {
				t.Errorf("free = %v, want %v (exclusions %v)", got, tt.free, res.Exclusions)
			}
		})
	}
}

func TestUpdatesAndRemoval(t *testing.T) {
	e := engineWith(t, vol("a", 100, 0), vol("b", 200, 0))
	// a moves away; b pauses; c arrives.
	if err := e.UpsertVolunteer(vol("a", 5000, 0)); err != nil {
		t.Fatal(err)
	}
	if err := e.UpsertVolunteer(vol("b", 200, 0, func(v *pb.Volunteer) { v.Paused = true })); err != nil {
		t.Fatal(err)
	}
	if err := e.UpsertVolunteer(vol("c", 300, 0)); err != nil {
		t.Fatal(err)
	}
	res, _ := e.FindCandidates(req(), nil, 5, now)
	if got := names(res.Candidates); !slices.Equal(got, []string{"c"}) {
		t.Errorf("after updates %v", got)
	}
	e.RemoveVolunteer("volunteers/c")
	e.RemoveVolunteer("volunteers/never")
	if err := e.UpsertVolunteer(vol("d", 400, 0)); err != nil { // reuses c's slot
		t.Fatal(err)
	}
	res, _ = e.FindCandidates(req(), nil, 5, now)
	if got := names(res.Candidates); !slices.Equal(got, []string{"d"}) || e.Len() != 3 {
		t.Errorf("after removal %v, len %d", got, e.Len())
	}
	if err := e.UpsertVolunteer(&pb.Volunteer{Name: "volunteers/nowhere"}); err == nil {
		t.Error("volunteer without coordinates accepted")
	}
}

func TestSummary(t *testing.T) {
	got := Summary([]Exclusion{{Reason: MissingSkill, Detail: "driver", Count: 4}, {Reason: Away, Count: 2}, {Reason: Paused, Count: 1}})
	if want := "4 nearby lack driver, 2 are away then, 1 has paused or is on hold"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// nearestFirstTrap is two requests and two volunteers, a and b. r1 is
// nearest to both; nearest-first would give r1 the volunteer r2 needs, as
// only a is within 1.5 km of r2.
func nearestFirstTrap(t *testing.T) (e *Engine, r1, r2 *pb.HelpRequest) {
	t.Helper()
	a := vol("a", 0, 0, func(v *pb.Volunteer) { v.MaxDistanceMetres = 5000 })
	b := vol("b", 1400, 0, func(v *pb.Volunteer) { v.MaxDistanceMetres = 5000 })
	e = engineWith(t, a, b)
	r1 = req(func(r *pb.HelpRequest) { r.Name = "helpRequests/r1"; r.Urgency = pb.Urgency_URGENCY_CRITICAL })
	r2 = req(func(r *pb.HelpRequest) {
		r.Name = "helpRequests/r2"
		lat, lng := offset(-1400, 0)
		r.Location.LatLng = &pb.LatLng{Latitude: lat, Longitude: lng}
	})
	return e, r1, r2
}

func TestPlanDispatchUsesCapacityAndCoversMore(t *testing.T) {
	e, r1, r2 := nearestFirstTrap(t)
	plan, err := e.PlanDispatch([]DispatchRequest{{Request: r1}, {Request: r2}}, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range plan.Offers {
		got[o.HelpRequest] = o.Volunteer
	}
	if got["helpRequests/r1"] != "volunteers/b" || got["helpRequests/r2"] != "volunteers/a" || plan.Uncovered != 0 {
		t.Errorf("plan %+v", plan)
	}
	if plan.Greedy >= 2 {
		t.Errorf("greedy covered %d: the case does not test what it means to", plan.Greedy)
	}
}

// TestPlanDispatchSolvesWithoutTheLock: once the candidates are found, a
// write need not wait for the solver (a second or more under scarcity).
// A write that leaves every engine id naming the same volunteer leaves
// the plan as found; one that gives a removed volunteer's id to someone
// else has the plan made again, so that it never names the wrong one.
func TestPlanDispatchSolvesWithoutTheLock(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(e *Engine) error
		want  map[string]string // request -> volunteer
	}{{
		name: "an edit",
		write: func(e *Engine) error {
			return e.UpsertVolunteer(vol("a", 0, 0, func(v *pb.Volunteer) { v.MaxDistanceMetres = 5000; v.Capacity = 2 }))
		},
		want: map[string]string{"helpRequests/r1": "volunteers/b", "helpRequests/r2": "volunteers/a"},
	}, {
		name: "a removal, and its id reused",
		write: func(e *Engine) error {
			e.RemoveVolunteer("volunteers/a")
			return e.UpsertVolunteer(vol("c", 6000, 0)) // out of everyone's reach
		},
		want: map[string]string{"helpRequests/r1": "volunteers/b"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			e, r1, r2 := nearestFirstTrap(t)
			solving := 0
			e.testHook = func(point string) {
				if point != "dispatch solve" {
					return
				}
				solving++
				if !e.mu.TryLock() {
					t.Fatal("the engine is locked while the solver runs")
				}
				e.mu.Unlock()
				if err := c.write(e); err != nil {
					t.Error(err)
				}
			}
			plan, err := e.PlanDispatch([]DispatchRequest{{Request: r1}, {Request: r2}}, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			if solving != 1 {
				t.Fatalf("hook ran %d times", solving)
			}
			got := map[string]string{}
			for _, o := range plan.Offers {
				got[o.HelpRequest] = o.Volunteer
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("plan %v, want %v", got, c.want)
			}
		})
	}
}

// TestPlanDispatchAcrossWrites: writes between a dispatch's runs of
// searches (removals whose ids are reused, renumbering by Compact) leave
// a plan that names each volunteer once at most (capacity 1 each) and
// only for requests within their reach.
func TestPlanDispatchAcrossWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	at := map[string][2]float64{} // every volunteer ever added, by name
	add := func(e *Engine, name string) {
		dn, de := rng.Float64()*4000, rng.Float64()*4000
		v := vol(name, dn, de)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		at[v.Name] = [2]float64{v.Home.LatLng.Latitude, v.Home.LatLng.Longitude}
	}
	for round := range 5 {
		e := NewEngine(DefaultConfig())
		live := []string{}
		for i := range 300 {
			name := fmt.Sprintf("v%d-%03d", round, i)
			add(e, name)
			live = append(live, "volunteers/"+name)
		}
		var reqs []DispatchRequest
		for i := range 200 {
			lat, lng := offset(rng.Float64()*4000, rng.Float64()*4000)
			reqs = append(reqs, DispatchRequest{Request: req(func(r *pb.HelpRequest) {
				r.Name = fmt.Sprintf("helpRequests/r%03d", i)
				r.Location.LatLng = &pb.LatLng{Latitude: lat, Longitude: lng}
			})})
		}
		runs, added := 0, 0
		var mu sync.Mutex // the hook runs on every search worker
		e.testHook = func(point string) {
			if point != "dispatch run" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			runs++
			for range 5 { // removed, and their ids given to newcomers
				i := rng.IntN(len(live))
				e.RemoveVolunteer(live[i])
				live = slices.Delete(live, i, i+1)
				name := fmt.Sprintf("n%d-%03d", round, added)
				added++
				add(e, name)
				live = append(live, "volunteers/"+name)
			}
			if rng.IntN(3) == 0 {
				e.Compact()
			}
		}
		plan, err := e.PlanDispatch(reqs, 20, now)
		if err != nil {
			t.Fatal(err)
		}
		if runs < 5 {
			t.Fatalf("round %d: %d runs: the test needs several", round, runs)
		}
		if len(plan.Offers) < 100 {
			t.Errorf("round %d: only %d offers", round, len(plan.Offers))
		}
		byReq := map[string]*pb.HelpRequest{}
		for _, dr := range reqs {
			byReq[dr.Request.Name] = dr.Request
		}
		seen := map[string]bool{}
		for _, o := range plan.Offers {
			if seen[o.Volunteer] {
				t.Errorf("round %d: %s offered twice", round, o.Volunteer)
			}
			seen[o.Volunteer] = true
			p, ok := at[o.Volunteer]
			ll := byReq[o.HelpRequest].GetLocation().GetLatLng()
			if m := ApproxMetres(ll.Latitude, ll.Longitude, p[0], p[1]); !ok || m > 1500 {
				t.Errorf("round %d: %s offered for %s, %.0f m away", round, o.Volunteer, o.HelpRequest, m)
			}
		}
	}
}

// TestCompactKeepsAnswers: renumbering changes nothing a caller can see.
func TestCompactKeepsAnswers(t *testing.T) {
	var vs []*pb.Volunteer
	for i := range 200 {
		vs = append(vs, vol(fmt.Sprintf("v%03d", i), float64((i*37)%1400)-700, float64((i*91)%1400)-700, func(v *pb.Volunteer) {
			if i%3 == 0 {
				v.Home.Street = "Union Street"
			}
		}))
	}
	e := engineWith(t, vs...)
	e.RemoveVolunteer("volunteers/v007")
	r := req(func(r *pb.HelpRequest) { r.RequiredSkills = nil })
	before, err := e.FindCandidates(r, []string{"volunteers/v150"}, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	e.Compact()
	after, err := e.FindCandidates(r, []string{"volunteers/v150"}, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(before.Candidates), names(after.Candidates)) || e.Len() != 199 {
		t.Errorf("before %v\nafter  %v", names(before.Candidates), names(after.Candidates))
	}
	// Updates and removals still work on the new numbering.
	if err := e.UpsertVolunteer(vol("v150", 5000, 0)); err != nil {
		t.Fatal(err)
	}
	e.RemoveVolunteer(after.Candidates[0].Volunteer)
	res, _ := e.FindCandidates(r, nil, 300, now)
	for _, c := range res.Candidates {
		if c.Volunteer == "volunteers/v150" || c.Volunteer == after.Candidates[0].Volunteer {
			t.Errorf("%s still found", c.Volunteer)
		}
	}
}

// TestExclusionsCountedInSearchMatchAFullPass: the counts a search keeps
// as it goes equal a separate pass over everyone in reach.
func TestExclusionsCountedInSearchMatchAFullPass(t *testing.T) {
	var vs []*pb.Volunteer
	for i := range 400 {
		vs = append(vs, vol(fmt.Sprintf("v%03d", i), float64((i*37)%3000)-1500, float64((i*91)%3000)-1500, func(v *pb.Volunteer) {
			v.Paused = i%11 == 0
			v.MaxDistanceMetres = int32(300 + (i%5)*400)
			if i%3 == 0 {
				v.Skills = []string{"driver"}
			}
			if i%4 == 0 {
				v.Availability.Weekly = v.Availability.Weekly[1:2] // Tuesday only
			}
			if i%7 == 0 {
				v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC
			}
		}))
	}
	e := engineWith(t, vs...)
	for _, r := range []*pb.HelpRequest{
		req(),
		req(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }),
		req(func(r *pb.HelpRequest) { r.EntersHome = true }),
		req(func(r *pb.HelpRequest) { r.RequiredSkills = []string{"welsh"} }),
	} {
		res, err := e.FindCandidates(r, nil, 1000, now)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := e.prepare(r, nil, now)
		if full := e.exclusions(q); !slices.Equal(res.Exclusions, full) || len(full) == 0 {
			t.Errorf("%v: search counted %v, a full pass %v", r.Needs, res.Exclusions, full)
		}
	}
}

// TestOlderWriteDoesNotUndoNewer: writes reach the engine after they
// commit, possibly out of order; the etag revision decides.
func TestOlderWriteDoesNotUndoNewer(t *testing.T) {
	e := NewEngine(DefaultConfig())
	newer := vol("a", 100, 0, func(v *pb.Volunteer) { v.Paused = true; v.Etag = "7" })
	older := vol("a", 100, 0, func(v *pb.Volunteer) { v.Etag = "5" })
	for _, v := range []*pb.Volunteer{newer, older} {
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := e.FindCandidates(req(), nil, 5, now)
	if len(res.Candidates) != 0 || !slices.Equal(res.Exclusions, []Exclusion{{Reason: Paused, Count: 1}}) {
		t.Errorf("the older, unpaused write won: %v %v", names(res.Candidates), res.Exclusions)
	}
}

// TestSortCandidates: in order, nearly in order (a few moved up, as
// bonuses do) or shuffled, candidates end in the one total order: score,
// then distance, then name; lists beyond sortCandidatesByIndex's buffer
// on the stack too.
func TestSortCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, c := range []struct {
		name  string
		moves int // candidates moved out of place; -1: shuffled
	}{{"sorted", 0}, {"one moved", 1}, {"a few moved", 5}, {"many moved", 30}, {"shuffled", -1}} {
		t.Run(c.name, func(t *testing.T) {
			for trial := range 200 {
				n := 1 + rng.IntN(80)
				if trial%10 == 0 {
					n = 100 + rng.IntN(200)
				}
				cs := make([]Candidate, n)
				for i := range cs {
					// Few distinct scores and distances, so that
					// distances and names break many ties.
					cs[i] = Candidate{Volunteer: fmt.Sprintf("volunteers/v%03d", rng.IntN(1000)), Score: float64(rng.IntN(n/2+1)) * 12.5, Metres: float64(rng.IntN(3))}
					cs[i].Volunteer += fmt.Sprint(i) // unique, as names are
				}
				want := slices.Clone(cs)
				slices.SortFunc(want, compareCandidates)
				got := slices.Clone(want)
				switch {
				case c.moves < 0:
					rng.Shuffle(n, func(i, j int) { got[i], got[j] = got[j], got[i] })
				default:
					for range c.moves {
						i := rng.IntN(n)
						j := rng.IntN(i + 1)
						x := got[i]
						copy(got[j+1:i+1], got[j:i])
						got[j] = x
					}
				}
				sortCandidates(got)
				if !slices.EqualFunc(got, want, func(a, b Candidate) bool {
					return a.Volunteer == b.Volunteer && a.Score == b.Score && a.Metres == b.Metres
				}) {
					t.Fatalf("trial %d (n=%d): got %v, want %v", trial, n, names(got), names(want))
				}
			}
		})
	}
}

// TestSortZ: the radix sort orders pairs built in index order as a sort
// by key and then index does, with many keys equal, keys sharing their
// high bytes (as a city's do), and the extremes.
func TestSortZ(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for _, n := range []int{0, 1, 5, 1023, 1024, 5000, 70000} {
		for _, spread := range []uint64{1, 7, 1 << 20, 1 << 40, math.MaxUint64} {
			ks := make([]zKeyed, n)
			base := rng.Uint64() &^ (1<<44 - 1)
			for i := range ks {
				ks[i] = zKeyed{base + rng.Uint64N(spread), uint32(i)}
				if spread == math.MaxUint64 {
					ks[i].key = []uint64{0, math.MaxUint64, rng.Uint64()}[rng.IntN(3)]
				}
			}
			want := slices.Clone(ks)
			slices.SortFunc(want, compareZ)
			sortZ(ks)
			if !slices.Equal(ks, want) {
				t.Fatalf("n=%d spread=%d: the radix sort's order differs", n, spread)
			}
		}
	}
}

// A check's expiry date is a date on the volunteer's calendar: the last
// day it is good for ends at their midnight. In British Summer Time the
// UK's date turns an hour before UTC's.
func TestVettingExpiresAtTheVolunteersMidnight(t *testing.T) {
	tests := []struct {
		name  string
		zone  string
		start time.Time
		ok    bool
	}{
		{"23:30 BST on its last day", "", time.Date(2026, 6, 10, 22, 30, 0, 0, time.UTC), true},
		{"00:30 BST the day after (23:30 UTC on its last day)", "", time.Date(2026, 6, 10, 23, 30, 0, 0, time.UTC), false},
		{"23:30 GMT on its last day, in winter", "", time.Date(2026, 12, 10, 23, 30, 0, 0, time.UTC), true},
		{"Tokyo: 08:30 on 11 June there is 23:30 UTC on 10 June", "Asia/Tokyo", time.Date(2026, 6, 10, 23, 30, 0, 0, time.UTC), false},
		{"Tokyo: 23:30 on 10 June there", "Asia/Tokyo", time.Date(2026, 6, 10, 14, 30, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expire := &pb.Date{Year: int32(tt.start.Year()), Month: int32(tt.start.Month()), Day: 10}
			london := vol("london", 100, 0, func(v *pb.Volunteer) { v.Availability.Weekly = everyDay(0, 24) })
			v := vol("x", 100, 0, func(v *pb.Volunteer) {
				v.Availability.Weekly = everyDay(0, 24)
				v.Availability.TimeZone = tt.zone
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: expire}
			})
			e := engineWith(t, london, v) // London's zone first, as on a UK server
			r := req(func(r *pb.HelpRequest) {
				r.EntersHome = true
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tt.start), EndTime: timestamppb.New(tt.start.Add(90 * time.Minute))}}
			})
			ok, why, err := e.Eligible(r, nil, "volunteers/x", tt.start.Add(-24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok {
				t.Errorf("eligible = %v (%v), want %v", ok, why, tt.ok)
			}
		})
	}
}

// A remote request ranks without distance: the best of its pool come first
// whatever page size is asked for, not the best of the k nearest.
func TestRemoteRankingDoesNotDependOnPageSize(t *testing.T) {
	var vs []*pb.Volunteer
	for i := range 30 {
		vs = append(vs, vol(fmt.Sprintf("busy%02d", i), 100+float64(i)*10, 0, func(v *pb.Volunteer) {
			v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC
			v.RecentAssignmentTimes = []*timestamppb.Timestamp{timestamppb.New(now.Add(-time.Hour)), timestamppb.New(now.Add(-2 * time.Hour))}
		}))
	}
	vs = append(vs, vol("idle", 3000, 0, func(v *pb.Volunteer) { v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC }))
	e := engineWith(t, vs...)
	r := req(func(r *pb.HelpRequest) { r.RemoteOk = true; r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL} })
	for _, k := range []int{1, 2, 5, 20, 40} {
		res, err := e.FindCandidates(r, nil, k, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Candidates); len(got) != min(k, len(vs)) || got[0] != "idle" {
			t.Errorf("page size %d: %v, want %d led by the idle volunteer 3 km away", k, got, min(k, len(vs)))
		}
	}
}

// Scores can run to millions of metres where fairness weighs heavily (up
// to 100 km a job): capping them to one cost would make the cheapest plan
// and a dearer one look the same to the solver.
func TestDispatchKeepsLargeScoresApart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FairnessMetres = 100000 // allowed by the config file (0..100000)
	e := NewEngine(cfg)
	recent := func(n int) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			for i := range n {
				v.RecentAssignmentTimes = append(v.RecentAssignmentTimes, timestamppb.New(now.Add(-time.Duration(i+1)*time.Hour)))
			}
		}
	}
	x := vol("x", 0, 0, recent(12))    // score 1.2e6 + distance
	y := vol("y", 0, 1400, recent(10)) // score 1.0e6 + distance
	for _, v := range []*pb.Volunteer{x, y} {
		v.Home.Street, v.Home.Postcode = "", "AB99 9ZZ"
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	r1 := req(func(r *pb.HelpRequest) { r.Name = "helpRequests/r1"; r.Location.Street = "" }) // at x
	r2 := req(func(r *pb.HelpRequest) {
		r.Name = "helpRequests/r2"
		lat, lng := offset(0, 1400) // at y
		r.Location = &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
	})
	plan, err := e.PlanDispatch([]DispatchRequest{{Request: r1}, {Request: r2}}, 20, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	total := 0.0
	for _, o := range plan.Offers {
		got[o.HelpRequest] = o.Volunteer
		total += o.Score
	}
	if got["helpRequests/r1"] != "volunteers/x" || got["helpRequests/r2"] != "volunteers/y" {
		t.Fatalf("plan %v, total score %.0f; want r1->x, r2->y (each at distance ~0, total ~2.2e6)", got, total)
	}
}

// TestRemoteTiesGoToTheNearer: a befriending call's scores have no
// distance in them, so every candidate ties; by name alone (ids in order
// of registration) the earliest to sign up came first for every call.
// The nearer now comes first, as the package doc promises a local
// befriender where one can be.
func TestRemoteTiesGoToTheNearer(t *testing.T) {
	basic := func(v *pb.Volunteer) { v.Vetting.Level = pb.Vetting_DBS_LEVEL_BASIC; v.MaxDistanceMetres = 1000 }
	e := engineWith(t, vol("a-first", 40000, 0, basic), vol("b-second", 9000, 0, basic), vol("c-third", 300, 0, basic))
	r := req(func(r *pb.HelpRequest) { r.RemoteOk = true; r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL} })
	res, err := e.FindCandidates(r, nil, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Candidates); !slices.Equal(got, []string{"c-third", "b-second", "a-first"}) {
		t.Errorf("candidates %v, want the nearest first", got)
	}
}
