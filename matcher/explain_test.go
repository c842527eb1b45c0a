package matcher

import (
	"math"
	"testing"
)

// TestExplainText pins Explain's sentences, branch by branch, so that the
// way they are built can change without changing a byte of them.
func TestExplainText(t *testing.T) {
	for _, tt := range []struct {
		c    Candidate
		want string
	}{
		{Candidate{}, "0 m"},
		{Candidate{Metres: 4.9}, "0 m"},
		{Candidate{Metres: 5}, "10 m"},
		{Candidate{Metres: 347}, "350 m"},
		{Candidate{Metres: 994.9}, "990 m"},
		{Candidate{Metres: 995}, "1000 m"},
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
		{Candidate{Metres: 80, recentCount: 1}, "80 m, 1 job this week"},
		{Candidate{Metres: 80, recentCount: 2}, "80 m, 2 jobs this week"},
		{Candidate{Metres: 80, recentCount: 13}, "80 m, 13 jobs this week"},
		{Candidate{Metres: 2500, SamePostcode: true, skills: []string{"driver"}, slot: slot{day: 4, from: 480, to: 1200}, helped: true, recentCount: 3},
			"2.5 km, same postcode, has driver, free Thu 08:00-20:00, helped this person before, 3 jobs this week"},
	} {
		if got := tt.c.Explain(); got != tt.want {
			t.Errorf("Explain(%+v) = %q, want %q", tt.c, got, tt.want)
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
		{[]Exclusion{{Reason: Paused, Count: 1}}, "1 has paused"},
		{[]Exclusion{{Reason: Paused, Count: 2}}, "2 have paused"},
		{[]Exclusion{{Reason: DeclinedBefore, Count: 1}}, "1 declined this request before"},
		{[]Exclusion{{Reason: DeclinedBefore, Count: 3}}, "3 declined this request before"},
		{[]Exclusion{{Reason: AtCapacity, Count: 1}}, "1 is fully booked"},
		{[]Exclusion{{Reason: AtCapacity, Count: 40}}, "40 are fully booked"},
		{[]Exclusion{{Reason: MissingSkill, Detail: "driver", Count: 1}}, "1 nearby lacks driver"},
		{[]Exclusion{{Reason: MissingSkill, Detail: "welsh", Count: 12}}, "12 nearby lack welsh"},
		{[]Exclusion{{Reason: Vetting, Detail: "basic", Count: 1}}, "1 has no basic DBS check"},
		{[]Exclusion{{Reason: Vetting, Detail: "enhanced", Count: 5}}, "5 have no enhanced DBS check"},
		{[]Exclusion{{Reason: Away, Count: 1}}, "1 is away then"},
		{[]Exclusion{{Reason: Away, Count: 2}}, "2 are away then"},
		{[]Exclusion{{Reason: NotAvailable, Count: 1}}, "1 is not free then"},
		{[]Exclusion{{Reason: NotAvailable, Count: 1234}}, "1234 are not free then"},
		{[]Exclusion{{Reason: "SOMETHING_NEW", Count: 1}}, "1: SOMETHING_NEW"},
		{[]Exclusion{{Reason: "", Count: 0}}, "0: "},
		{[]Exclusion{{Reason: NotAvailable, Count: 0}}, "0 are not free then"},
		{[]Exclusion{{Reason: MissingSkill, Detail: "driver", Count: 4}, {Reason: Away, Count: 2}, {Reason: Paused, Count: 1}},
			"4 nearby lack driver, 2 are away then, 1 has paused"},
	} {
		if got := Summary(tt.ex); got != tt.want {
			t.Errorf("Summary(%+v) = %q, want %q", tt.ex, got, tt.want)
		}
	}
}
