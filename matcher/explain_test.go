package matcher

import (
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestExplainText pins Explain's sentences, branch by branch, so that the
// way they are built can change without changing a byte of them.
func TestExplainText(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	newYork, _ := time.LoadLocation("America/New_York")
	for _, tt := range []struct {
		c    Candidate
		want string
	}{
		{Candidate{}, "under 10 m"},
		{Candidate{Metres: 4.9}, "under 10 m"},
		{Candidate{Metres: 5}, "10 m"},
		{Candidate{Metres: 347}, "350 m"},
		{Candidate{Metres: 994.9}, "990 m"},
		{Candidate{Metres: 995}, "1.0 km"}, // not "1000 m"
		{Candidate{Metres: 1000}, "1.0 km"},
		{Candidate{Metres: 1049.9}, "1.0 km"},
		{Candidate{Metres: 1050}, "1.1 km"},
		{Candidate{Metres: 12345.6}, "12.3 km"},
		{Candidate{Metres: math.Inf(1)}, "+Inf km"},
		{Candidate{Metres: math.NaN()}, "NaN km"},
		{Candidate{Metres: -3}, "0 m"},
		{Candidate{Metres: -5}, "-10 m"},
		{Candidate{Metres: 650, SameStreet: true}, "650 m, same street"},
		{Candidate{Metres: 650, SamePostcode: true}, "650 m, same postcode"},
		{Candidate{Metres: 650, SameStreet: true, SamePostcode: true}, "650 m, same street"},
		{Candidate{Metres: 80, skills: []string{"driver"}}, "80 m, has driver"},
		{Candidate{Metres: 80, skills: []string{"driver", "welsh", "dog-friendly"}}, "80 m, has driver, welsh, dog-friendly"},
		{Candidate{Metres: 80, slot: slot{day: 2, from: 600, to: 720}}, "80 m, free Tue 10:00-12:00"},
		{Candidate{Metres: 80, slot: slot{day: 0, from: 0, to: 1440}}, "80 m, free Sun 00:00-24:00"},
		{Candidate{Metres: 80, slot: slot{day: 6, from: 545, to: 1305}}, "80 m, free Sat 09:05-21:45"},
		{Candidate{Metres: 80, slot: slot{day: 1, from: 30, to: 0}}, "80 m"},
		{Candidate{Metres: 80, helped: true}, "80 m, helped this person before"},
		{Candidate{Metres: 80, recentCount: 1, recentHours: 168}, "80 m, 1 job in the last 7 days"},
		{Candidate{Metres: 80, recentCount: 2, recentHours: 168}, "80 m, 2 jobs in the last 7 days"},
		{Candidate{Metres: 80, recentCount: 13, recentHours: 168}, "80 m, 13 jobs in the last 7 days"},
		{Candidate{Metres: 80, recentCount: 2, recentHours: 72}, "80 m, 2 jobs in the last 3 days"},
		{Candidate{Metres: 80, recentCount: 1, recentHours: 24}, "80 m, 1 job in the last day"},
		{Candidate{Metres: 80, recentCount: 1, recentHours: 36}, "80 m, 1 job in the last 36 hours"},
		{Candidate{Metres: 80, recentCount: 1, recentHours: 1}, "80 m, 1 job in the last hour"},
		{Candidate{Metres: 80, slot: slot{day: 2, from: 240, to: 360}, zone: tokyo}, "80 m, free Tue 04:00-06:00 Tokyo time"},
		{Candidate{Metres: 80, slot: slot{day: 2, from: 240, to: 360}, zone: newYork}, "80 m, free Tue 04:00-06:00 New York time"},
		{Candidate{Metres: 2500, SamePostcode: true, skills: []string{"driver"}, slot: slot{day: 4, from: 480, to: 1200}, helped: true, recentCount: 3, recentHours: 168},
			"2.5 km, same postcode, has driver, free Thu 08:00-20:00, helped this person before, 3 jobs in the last 7 days"},
	} {
		if got := tt.c.Explain(); got != tt.want {
			t.Errorf("Explain(%+v) = %q, want %q", tt.c, got, tt.want)
		}
		if got := string(tt.c.AppendExplain([]byte("before|"))); got != "before|"+tt.want {
			t.Errorf("AppendExplain(%+v) = %q, want %q", tt.c, got, "before|"+tt.want)
		}
	}
}

// TestSummaryText pins Summary's phrases for every rule, one and many.
func TestSummaryText(t *testing.T) {
	for _, tt := range []struct {
		ex   []Exclusion
		want string
	}{
		{nil, ""},
		{[]Exclusion{}, ""},
		{[]Exclusion{{Reason: TooFar, Count: 1}}, "1 nearby does not go that far"},
		{[]Exclusion{{Reason: TooFar, Count: 7}}, "7 nearby do not go that far"},
		{[]Exclusion{{Reason: Paused, Count: 1}}, "1 has paused or is on hold"},
		{[]Exclusion{{Reason: Paused, Count: 2}}, "2 have paused or are on hold"},
		{[]Exclusion{{Reason: DeclinedBefore, Count: 1}}, "1 declined, missed or handed back this request before"},
		{[]Exclusion{{Reason: DeclinedBefore, Count: 3}}, "3 declined, missed or handed back this request before"},
		{[]Exclusion{{Reason: AtCapacity, Count: 1}}, "1 is fully booked"},
		{[]Exclusion{{Reason: AtCapacity, Count: 40}}, "40 are fully booked"},
		{[]Exclusion{{Reason: MissingSkill, Detail: "driver", Count: 1}}, "1 nearby lacks driver"},
		{[]Exclusion{{Reason: MissingSkill, Detail: "welsh", Count: 12}}, "12 nearby lack welsh"},
		{[]Exclusion{{Reason: Vetting, Detail: "basic", Count: 1}}, "1 has no basic DBS check valid then"},
		{[]Exclusion{{Reason: Vetting, Detail: "enhanced", Count: 5}}, "5 have no enhanced DBS check valid then"},
		{[]Exclusion{{Reason: Away, Count: 1}}, "1 is away then"},
		{[]Exclusion{{Reason: Away, Count: 2}}, "2 are away then"},
		{[]Exclusion{{Reason: NotAvailable, Count: 1}}, "1 is not free then"},
		{[]Exclusion{{Reason: NotAvailable, Count: 1234}}, "1234 are not free then"},
		{[]Exclusion{{Reason: "SOMETHING_NEW", Count: 1}}, "1: SOMETHING_NEW"},
		{[]Exclusion{{Reason: "", Count: 0}}, "0: "},
		{[]Exclusion{{Reason: NotAvailable, Count: 0}}, "0 are not free then"},
		{[]Exclusion{{Reason: MissingSkill, Detail: "driver", Count: 4}, {Reason: Away, Count: 2}, {Reason: Paused, Count: 1}},
			"4 nearby lack driver, 2 are away then, 1 has paused or is on hold"},
	} {
		if got := Summary(tt.ex); got != tt.want {
			t.Errorf("Summary(%+v) = %q, want %q", tt.ex, got, tt.want)
		}
	}
}

// TestResultSummary: why the search found no more, when it found fewer
// than asked, whether anyone in reach was left out or nobody is there.
func TestResultSummary(t *testing.T) {
	one := []Candidate{{Volunteer: "volunteers/a"}}
	excl := []Exclusion{{Reason: AtCapacity, Count: 2}}
	for _, tt := range []struct {
		name string
		res  Result
		want string
	}{
		{"found all asked for", Result{Candidates: one, Reach: 1500}, ""},
		{"exclusions explain", Result{Candidates: one, Exclusions: excl, Reach: 1500, Short: true}, "2 are fully booked"},
		{"nobody in reach", Result{Reach: 1500, Short: true}, "no volunteer lives within 1.5 km"},
		{"nobody else in reach", Result{Candidates: one, Reach: 8000, Short: true}, "nobody else lives within 8 km"},
		{"a short reach", Result{Reach: 800, Short: true}, "no volunteer lives within 800 m"},
		{"rounded to 10 m", Result{Reach: 747, Short: true}, "no volunteer lives within 750 m"},
		{"nearly 1 km", Result{Reach: 996, Short: true}, "no volunteer lives within 1 km"},
		{"rounded to 100 m", Result{Reach: 2345, Short: true}, "no volunteer lives within 2.3 km"},
		{"remote, nobody at all", Result{Short: true}, "no volunteer is registered who could help"},
		{"remote, nobody else", Result{Candidates: one, Short: true}, "there is nobody else"},
		{"nobody but the offer's holder", Result{Reach: 1500, Short: true, Holder: true}, "nobody else lives within 1.5 km"},
		{"remote, nobody but the offer's holder", Result{Short: true, Holder: true}, "there is nobody else"},
	} {
		if got := tt.res.Summary(); got != tt.want {
			t.Errorf("%s: Summary() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestFindCandidatesReach: a result says how far it looked and whether it
// came up short, so that "nobody" can be explained.
func TestFindCandidatesReach(t *testing.T) {
	e := engineWith(t, vol("near", 500, 0), vol("far", 3000, 0, func(v *pb.Volunteer) { v.MaxDistanceMetres = 5000 }))
	res, err := e.FindCandidates(req(), nil, 5, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reach != 1500 || !res.Short || len(res.Candidates) != 1 || res.Summary() != "nobody else lives within 1.5 km" {
		t.Errorf("shopping: reach %v, short %v, %d candidates, %q", res.Reach, res.Short, len(res.Candidates), res.Summary())
	}
	res, _ = e.FindCandidates(req(), nil, 1, now)
	if res.Short || res.Summary() != "" {
		t.Errorf("one asked, one found: short %v, %q", res.Short, res.Summary())
	}
	res, _ = e.FindCandidates(req(func(r *pb.HelpRequest) { r.RemoteOk = true; r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL} }), nil, 5, now)
	if res.Reach != 0 {
		t.Errorf("a remote request has no reach: %v", res.Reach)
	}
}

// TestEligibleSaysWhy: an offer made by hand to someone who cannot take it
// is refused with a sentence about that one volunteer, distances included
// where distance is the reason.
func TestEligibleSaysWhy(t *testing.T) {
	e := engineWith(t,
		vol("beyond", 2100, 0),
		vol("edge", 1520, 0),
		vol("stayer", 1220, 0, func(v *pb.Volunteer) { v.MaxDistanceMetres = 1200 }),
		vol("homebody", 1200, 0, func(v *pb.Volunteer) { v.MaxDistanceMetres = 1000 }),
		vol("full", 100, 0, func(v *pb.Volunteer) { v.ActiveAssignments = 1 }),
		vol("resting", 100, 0, func(v *pb.Volunteer) { v.Paused = true }),
		vol("walker", 100, 0),
		vol("able", 100, 0),
	)
	for _, tt := range []struct {
		volunteer string
		r         *pb.HelpRequest
		ok        bool
		why       string
	}{
		{"beyond", req(), false, "they live 2.1 km away, beyond the 1.5 km this request reaches"},
		{"homebody", req(), false, "they live 1.2 km away, beyond the 1 km they travel"},
		// Not "1.5 km away, beyond the 1.5 km": rounded alike, it is just beyond.
		{"edge", req(), false, "they live just beyond the 1.5 km this request reaches"},
		{"stayer", req(), false, "they live just beyond the 1.2 km they travel"},
		{"full", req(), false, "they are fully booked"},
		{"resting", req(), false, "they have paused or are on hold"},
		{"walker", req(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }), false, "they lack driver"},
		{"able", req(), true, ""},
	} {
		ok, x, err := e.Eligible(tt.r, nil, "volunteers/"+tt.volunteer, now)
		if err != nil || ok != tt.ok || (!ok && x.Why() != tt.why) {
			t.Errorf("%s: ok %v, %q, %v; want %v, %q", tt.volunteer, ok, x.Why(), err, tt.ok, tt.why)
		}
		// Only one beyond the request's reach is out of it: a search
		// counts the others.
		if x.OutOfReach != (tt.volunteer == "beyond" || tt.volunteer == "edge") {
			t.Errorf("%s: OutOfReach %v", tt.volunteer, x.OutOfReach)
		}
	}
	if _, _, err := e.Eligible(req(), nil, "volunteers/nobody", now); err != ErrUnknownVolunteer {
		t.Errorf("unknown volunteer: %v", err)
	}
	for _, tt := range []struct {
		x    Exclusion
		want string
	}{
		{Exclusion{Reason: TooFar}, "they do not go that far"},
		{Exclusion{Reason: DeclinedBefore}, "they declined, missed or handed back this request before"},
		{Exclusion{Reason: Vetting, Detail: "enhanced"}, "they have no enhanced DBS check valid then"},
		{Exclusion{Reason: Away}, "they are away then"},
		{Exclusion{Reason: NotAvailable}, "they are not free then"},
		{Exclusion{Reason: "SOMETHING_NEW"}, "SOMETHING_NEW"},
	} {
		if got := tt.x.Why(); got != tt.want {
			t.Errorf("%+v.Why() = %q, want %q", tt.x, got, tt.want)
		}
	}
}

// A volunteer's hours are in their own zone: the sentence names it when it
// is not the UK's, so that the helpline does not read a Tokyo morning as a
// UK one, and leaves it out when it is.
func TestExplainNamesAnotherZone(t *testing.T) {
	tokyo := vol("tokyo", 100, 0, func(v *pb.Volunteer) {
		v.Availability = &pb.Availability{TimeZone: "Asia/Tokyo", Weekly: []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{Hours: 4}, EndTime: &pb.TimeOfDay{Hours: 6}}}}
	})
	london := vol("london", 200, 0, func(v *pb.Volunteer) {
		v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_MONDAY, StartTime: &pb.TimeOfDay{Hours: 19}, EndTime: &pb.TimeOfDay{Hours: 22}}}
	})
	e := engineWith(t, tokyo, london)
	// Monday 20:00-21:00 GMT is Tuesday 05:00-06:00 in Tokyo.
	r := req(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(20 * time.Hour)), EndTime: timestamppb.New(monday.Add(21 * time.Hour))}}
	})
	res, err := e.FindCandidates(r, nil, 5, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tokyo": "free Tue 04:00-06:00 Tokyo time", "london": "free Mon 19:00-22:00"}
	if len(res.Candidates) != 2 {
		t.Fatalf("candidates %v", names(res.Candidates))
	}
	for _, c := range res.Candidates {
		got := c.Explain()
		name := strings.TrimPrefix(c.Volunteer, "volunteers/")
		if !strings.Contains(got, want[name]) || name == "london" && strings.Contains(got, " time") {
			t.Errorf("%s: %q, want it to say %q", name, got, want[name])
		}
	}
}

// A fixed zone's POSIX name has its sign the other way round: a volunteer
// on Etc/GMT+5 is five hours behind, and the helpline must hear so.
func TestZoneWords(t *testing.T) {
	for name, want := range map[string]string{
		"Asia/Tokyo":                     "Tokyo",
		"America/New_York":               "New York",
		"America/Argentina/Buenos_Aires": "Buenos Aires",
		"Etc/GMT+5":                      "UTC-5",
		"Etc/GMT-10":                     "UTC+10",
		"Etc/GMT":                        "GMT",
		"UTC":                            "UTC",
	} {
		if got := zoneWords(name); got != want {
			t.Errorf("zoneWords(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestVettingWordsOfACheckHeld: a volunteer whose basic check has run out,
// or runs out before the only day they are free, holds a basic check (the
// coordinator's record says "basic until ..."): the sentence must not say
// they have none, but that they have none valid then, which is what a
// renewal mends.
func TestVettingWordsOfACheckHeld(t *testing.T) {
	lift := func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT}
		// Monday 10:00 to Wednesday 12:00.
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(10 * time.Hour)), EndTime: timestamppb.New(monday.Add(2*24*time.Hour + 12*time.Hour))}}
	}
	driver := func(level pb.Vetting_DbsLevel, expire *pb.Date, day pb.DayOfWeek) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			v.Skills = []string{"driver"}
			v.Vetting = &pb.Vetting{Level: level, ExpireDate: expire}
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(day, 9, 0, 17, 0)}
		}
	}
	e := engineWith(t,
		vol("expired", 100, 0, driver(pb.Vetting_DBS_LEVEL_BASIC, &pb.Date{Year: 2026, Month: 11, Day: 29}, pb.DayOfWeek_DAY_OF_WEEK_MONDAY)),
		vol("lapsing", 200, 0, driver(pb.Vetting_DBS_LEVEL_BASIC, &pb.Date{Year: 2026, Month: 11, Day: 30}, pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY)),
		vol("never", 300, 0, driver(pb.Vetting_DBS_LEVEL_NONE, nil, pb.DayOfWeek_DAY_OF_WEEK_MONDAY)),
	)
	r := req(lift)
	for _, name := range []string{"expired", "lapsing", "never"} {
		ok, x, err := e.Eligible(r, nil, "volunteers/"+name, now)
		if want := "they have no basic DBS check valid then"; err != nil || ok || x.Why() != want {
			t.Errorf("%s: ok %v, %q, %v; want %q", name, ok, x.Why(), err, want)
		}
	}
	res, err := e.FindCandidates(r, nil, 5, now)
	if want := "3 have no basic DBS check valid then"; err != nil || res.Summary() != want {
		t.Errorf("summary %q, %v; want %q", res.Summary(), err, want)
	}
}
