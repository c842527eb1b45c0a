package main

import (
	"testing"
	"time"
)

// TestParseAwayBegunAlready: a volunteer rings from their holiday, away
// since the 20th and back after the 30th. The dates they give are read as
// one range that began this year, not refused as ending before it starts
// (the 20th, passed, was taken for next year's). A range that truly ends
// before it starts is still refused.
func TestParseAwayBegunAlready(t *testing.T) {
	thu := time.Date(2026, 11, 26, 12, 0, 0, 0, london)
	for _, tc := range []awayCase{
		{in: "20 nov-30 nov", now: thu, want: "2026-11-20..2026-11-30"},
		{in: "20/11 to 30/11", now: thu, want: "2026-11-20..2026-11-30"},
		{in: "25 dec-2 jan", now: time.Date(2026, 12, 30, 9, 0, 0, 0, london), want: "2026-12-25..2027-01-02"},
		{in: "1 dec-10 dec", now: thu, want: "2026-12-01..2026-12-10"},
		{in: "2026-11-30 to 2026-11-20", now: thu, fail: `"2026-11-30 to 2026-11-20" ends before it starts`},
		{in: "2027-11-20 to 30 nov", now: thu, fail: `"2027-11-20 to 30 nov" ends before it starts`},
		{in: "28 dec-3 jan", now: time.Date(2027, 1, 2, 9, 0, 0, 0, london), want: "2026-12-28..2027-01-03"}, // said in the new year
		{in: "24 nov-2 nov", now: thu, fail: `"24 nov-2 nov" ends before it starts`},                         // a slip, not 11 months away
		{in: "10 dec-5 dec", now: time.Date(2026, 6, 5, 9, 0, 0, 0, london), fail: `"10 dec-5 dec" ends before it starts`},
	} {
		t.Run(tc.in, tc.check)
	}
}

// TestParseAwaySlipOverTheYearEnd: in mid-December a volunteer going away
// from the 20th "till the 5th" (of January) is typed "20 dec-5 dec". The
// 5th of December had passed, so the end was read as next December's and
// the volunteer was marked away for fifty weeks, offered nothing all year,
// where the same slip typed in June, or "24 nov-2 nov", is refused. A
// range over the new year that ends within six months is what was meant;
// a longer one is asked for with its years, which then stand.
func TestParseAwaySlipOverTheYearEnd(t *testing.T) {
	dec15 := time.Date(2026, 12, 15, 10, 0, 0, 0, london)
	for _, tc := range []awayCase{
		{in: "20 dec-5 dec", now: dec15, fail: `"20 dec-5 dec" reads as away from Sun 20 Dec to Sun 5 Dec 2027, over six months: if that is meant, give the years ("2026-12-20 to 2027-12-05")`},
		{in: "20/12 to 5/12", now: dec15, fail: `"20/12 to 5/12" reads as away from Sun 20 Dec to Sun 5 Dec 2027, over six months: if that is meant, give the years ("2026-12-20 to 2027-12-05")`},
		{in: "24 nov-2 nov", now: time.Date(2026, 11, 10, 9, 0, 0, 0, london), fail: `"24 nov-2 nov" reads as away from Tue 24 Nov to Tue 2 Nov 2027, over six months: if that is meant, give the years ("2026-11-24 to 2027-11-02")`},
		{in: "2026-12-20 to 5 dec", now: dec15, fail: `"2026-12-20 to 5 dec" reads as away from Sun 20 Dec to Sun 5 Dec 2027, over six months: if that is meant, give the years ("2026-12-20 to 2027-12-05")`},
		// Over the new year, as meant.
		{in: "20 dec-5 jan", now: dec15, want: "2026-12-20..2027-01-05"},
		{in: "23 dec-3 jan", now: dec15, want: "2026-12-23..2027-01-03"},
		{in: "24 dec-2 jan", now: time.Date(2026, 12, 31, 23, 0, 0, 0, london), want: "2026-12-24..2027-01-02"},
		{in: "20 dec-10 jun", now: dec15, want: "2026-12-20..2027-06-10"},
		// Said with its years, it stands.
		{in: "2026-12-20 to 2027-12-05", now: dec15, want: "2026-12-20..2027-12-05"},
		{in: "20 dec 2026-5 dec 2027", now: dec15, want: "2026-12-20..2027-12-05"},
		// Within one year, as before.
		{in: "1 feb-20 nov", now: dec15, want: "2027-02-01..2027-11-20"},
	} {
		t.Run(tc.in, tc.check)
	}
}

// TestParseAwayDaysOfOneMonth: staff type a holiday as it is written on a
// calendar or a card, "24-31 dec", "28th-3rd jan", the month said once at
// the end. Those were refused ("cannot read"), with the volunteer on the
// line, though "24 dec-31 dec" read. A bare first day is of the end's
// month, or of the month before when that is the one that comes first.
func TestParseAwayDaysOfOneMonth(t *testing.T) {
	dec15 := time.Date(2026, 12, 15, 10, 0, 0, 0, london)
	for _, tc := range []struct{ in, want string }{
		{"24-31 dec", "2026-12-24..2026-12-31"},
		{"24th-31st dec", "2026-12-24..2026-12-31"},
		{"24 - 31 dec", "2026-12-24..2026-12-31"},
		{"24 to 31 december", "2026-12-24..2026-12-31"},
		{"24-31/12", "2026-12-24..2026-12-31"},
		{"28-3 jan", "2026-12-28..2027-01-03"},
		{"28th-3rd jan", "2026-12-28..2027-01-03"},
		{"2-9 jan", "2027-01-02..2027-01-09"},
		{"20-30 nov", "2027-11-20..2027-11-30"},
	} {
		got, err := parseAway(tc.in, dec15)
		if err != nil || len(got) != 1 || isoDate(got[0].StartDate)+".."+isoDate(got[0].EndDate) != tc.want {
			t.Errorf("%q: read as %v (%v), want %s", tc.in, got, err, tc.want)
		}
	}
}

// awayCase is a --away given at now, read as want (start..end, ISO) or
// refused with fail.
type awayCase struct {
	in         string
	now        time.Time
	want, fail string
}

func (tc awayCase) check(t *testing.T) {
	t.Helper()
	got, err := parseAway(tc.in, tc.now)
	switch {
	case tc.fail != "":
		if err == nil || err.Error() != tc.fail {
			t.Errorf("got %v, %v; want the error %s", got, err, tc.fail)
		}
	case err != nil:
		t.Errorf("error %v, want %s", err, tc.want)
	case len(got) != 1 || isoDate(got[0].StartDate)+".."+isoDate(got[0].EndDate) != tc.want:
		t.Errorf("read as %v, want %s", got, tc.want)
	}
}
