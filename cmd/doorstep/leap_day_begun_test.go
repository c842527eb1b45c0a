package main

import (
	"testing"
	"time"
)

// TestAwayBegunOnLeapDay: a volunteer away since 29 February, said on 2
// March ("29 feb-5 mar"), is away from the 29 February just gone, as
// "20 nov-30 nov" on the 26th is read from the 20 November gone. The
// start was read as the next 29 February, four years off, and the range
// refused; and in a year without one, read as a year back from the next,
// it was stored from 1 March, a day nobody gave.
func TestAwayBegunOnLeapDay(t *testing.T) {
	for _, tc := range []struct {
		in         string
		now        time.Time
		want, fail string
	}{
		{in: "29 feb-5 mar", now: time.Date(2028, 3, 2, 9, 0, 0, 0, london), want: "2028-02-29..2028-03-05"},
		{in: "29/2 to 5/3", now: time.Date(2028, 3, 2, 9, 0, 0, 0, london), want: "2028-02-29..2028-03-05"},
		{in: "29 feb-5 mar", now: time.Date(2027, 3, 2, 9, 0, 0, 0, london), fail: "any"},
		{in: "29 feb-5 mar", now: time.Date(2027, 6, 1, 9, 0, 0, 0, london), want: "2028-02-29..2028-03-05"},
	} {
		t.Run(tc.in+" on "+tc.now.Format("2006-01-02"), func(t *testing.T) {
			got, err := parseAway(tc.in, tc.now)
			switch {
			case tc.fail != "":
				if err == nil {
					t.Errorf("read as %s..%s, want it refused", isoDate(got[0].StartDate), isoDate(got[0].EndDate))
				}
			case err != nil:
				t.Errorf("error %v, want %s", err, tc.want)
			case len(got) != 1 || isoDate(got[0].StartDate)+".."+isoDate(got[0].EndDate) != tc.want:
				t.Errorf("read as %v, want %s", got, tc.want)
			}
		})
	}
}
