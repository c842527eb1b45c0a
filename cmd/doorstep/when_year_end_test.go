package main

import (
	"strconv"
	"testing"
	"time"
)

// TestParseWhenWindowBegunLastYear: at half past midnight on New Year's
// Day a caller whose helper was due from 11 last night needs someone
// before 1. "31 dec 23:00 - 1 jan 01:00" was refused as ending before it
// starts: the 31st of December, passed, was read as next year's. A window
// whose date without a year has passed is the one begun already, as days
// away are read; one that would then run over 90 days is still a slip.
func TestParseWhenWindowBegunLastYear(t *testing.T) {
	uk := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, london) }
	nyd := uk(2027, 1, 1, 0, 30)
	for _, tc := range []struct {
		in         string
		now        time.Time
		start, end time.Time
		err        string
	}{
		{in: "31 dec 23:00 - 1 jan 01:00", now: nyd, start: uk(2026, 12, 31, 23, 0), end: uk(2027, 1, 1, 1, 0)},
		{in: "31/12 23:00 to 1/1 01:00", now: nyd, start: uk(2026, 12, 31, 23, 0), end: uk(2027, 1, 1, 1, 0)},
		{in: "31 dec 11pm to 1 jan 1am", now: nyd, start: uk(2026, 12, 31, 23, 0), end: uk(2027, 1, 1, 1, 0)},
		{in: "30/12 9:00 - 4/1 17:00", now: uk(2027, 1, 2, 10, 0), start: uk(2026, 12, 30, 9, 0), end: uk(2027, 1, 4, 17, 0)},
		// As before: said in December, and a window that has ended.
		{in: "31 dec 23:00 - 1 jan 01:00", now: uk(2026, 12, 15, 10, 0), start: uk(2026, 12, 31, 23, 0), end: uk(2027, 1, 1, 1, 0)},
		{in: "31 dec 10:00 - 1 jan 01:00", now: uk(2027, 1, 1, 2, 0), err: "Fri 1 Jan 01:00 has already passed"},
		{in: "24 nov 10:00 to 2 nov 12:00", now: uk(2026, 11, 26, 9, 0), err: `"24 nov 10:00 to 2 nov 12:00" ends before it starts`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseWhen(tc.in, tc.now)
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Errorf("read as %v-%v (%v), want the error %s", got.start, got.end, err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v, want %v-%v", err, tc.start, tc.end)
			case !got.start.Equal(tc.start) || !got.end.Equal(tc.end):
				t.Errorf("read as %v-%v, want %v-%v", got.start, got.end, tc.start, tc.end)
			}
		})
	}
}

// TestParseWhenPastMidnightSaysHow: a caller on her own wants someone with
// her over midnight on Hogmanay, from 11 till 1. "31 dec 23:00-01:00" is
// refused, as "17:00-09:00" is, since a range on one day that ends before
// it starts is more often a slip; but the worker was told only that it
// ends before it starts, and left to guess how to say the night. The
// refusal gives the words for it, which read as the night meant.
func TestParseWhenPastMidnightSaysHow(t *testing.T) {
	dec15 := time.Date(2026, 12, 15, 10, 0, 0, 0, london)
	hogmanay := time.Date(2026, 12, 31, 20, 0, 0, 0, london)
	for _, tc := range []struct {
		in, say    string
		now        time.Time
		start, end time.Time
	}{
		{"31 dec 23:00-01:00", "31 dec 23:00 to 1 jan 01:00", dec15, time.Date(2026, 12, 31, 23, 0, 0, 0, london), time.Date(2027, 1, 1, 1, 0, 0, 0, london)},
		{"31/12 11pm-1am", "31 dec 23:00 to 1 jan 01:00", dec15, time.Date(2026, 12, 31, 23, 0, 0, 0, london), time.Date(2027, 1, 1, 1, 0, 0, 0, london)},
		{"tonight 23:00-01:00", "31 dec 23:00 to 1 jan 01:00", hogmanay, time.Date(2026, 12, 31, 23, 0, 0, 0, london), time.Date(2027, 1, 1, 1, 0, 0, 0, london)},
		{"23:30-00:30", "31 dec 23:30 to 1 jan 00:30", hogmanay, time.Date(2026, 12, 31, 23, 30, 0, 0, london), time.Date(2027, 1, 1, 0, 30, 0, 0, london)},
	} {
		_, err := parseWhen(tc.in, tc.now)
		want := strconv.Quote(tc.in) + ` ends before it starts: for help past midnight, give the day it ends too, as in "` + tc.say + `"`
		if err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %s", tc.in, err, want)
			continue
		}
		got, err := parseWhen(tc.say, tc.now)
		if err != nil || !got.start.Equal(tc.start) || !got.end.Equal(tc.end) {
			t.Errorf("the words given, %q, read as %v-%v (%v), want %v-%v", tc.say, got.start, got.end, err, tc.start, tc.end)
		}
	}
}

// TestParseWhenTooFarSaysTheDate: on the 2nd of January a worker types the
// day a caller gave, "31/12" (the caller meaning the night just gone, or
// the worker a slip for "3/1"). It is read as next December, and the
// worker was told only "that is more than 90 days away", of a date a day
// or two back, with nothing to show the year it was taken for. The
// refusal names the time it read, with its year.
func TestParseWhenTooFarSaysTheDate(t *testing.T) {
	jan2 := time.Date(2027, 1, 2, 10, 0, 0, 0, london)
	for _, tc := range []struct{ in, want string }{
		{"31/12 23:00 to 1/1 01:00", "Fri 31 Dec 2027 23:00 is more than 90 days away"},
		{"1 jan 10-12", "Sat 1 Jan 2028 10:00 is more than 90 days away"},
		{"by 1 jan 18:00", "Sat 1 Jan 2028 18:00 is more than 90 days away"},
		{"1 jan", "Sat 1 Jan 2028 00:00 is more than 90 days away"},
	} {
		if _, err := parseWhen(tc.in, jan2); err == nil || err.Error() != tc.want {
			t.Errorf("%q on 2 Jan: error %v, want %s", tc.in, err, tc.want)
		}
	}
}
