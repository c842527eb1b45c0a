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
	for _, tc := range []struct {
		in         string
		now        time.Time
		want, fail string
	}{
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
		t.Run(tc.in, func(t *testing.T) {
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
		})
	}
}
