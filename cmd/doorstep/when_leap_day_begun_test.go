package main

import (
	"strings"
	"testing"
	"time"
)

// TestWhenWindowBegunOnLeapDay: at half past midnight on 1 March 2028 a
// caller whose helper was due from 11 on the leap day needs someone
// before 1. "29 feb 23:00 - 1 mar 01:00" was refused as unreadable, where
// "28 feb 23:00 - 1 mar 01:00" the year before reads as the night now
// running and '--away 29 feb-5 mar' as the days begun: the 29 February,
// passed, was read as the one four years off. So too a partner's file
// with the window in two columns, run again the next morning. A window
// on a 29 February years off is refused saying so, not as unreadable.
func TestWhenWindowBegunOnLeapDay(t *testing.T) {
	uk := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, london) }
	mar1 := uk(2028, 3, 1, 0, 30)
	for _, tc := range []struct {
		start, end string
		now        time.Time
		from, to   time.Time
	}{
		{"29 feb 23:00", "1 mar 01:00", mar1, uk(2028, 2, 29, 23, 0), uk(2028, 3, 1, 1, 0)},
		{"29/2 23:00", "1/3 01:00", mar1, uk(2028, 2, 29, 23, 0), uk(2028, 3, 1, 1, 0)},
		{"29/02 10:00", "5/3 10:00", uk(2028, 3, 2, 9, 0), uk(2028, 2, 29, 10, 0), uk(2028, 3, 5, 10, 0)},
		// As before: said before the day, and in a year whose 29 February
		// is to come.
		{"29 feb 23:00", "1 mar 01:00", uk(2028, 2, 20, 9, 0), uk(2028, 2, 29, 23, 0), uk(2028, 3, 1, 1, 0)},
		{"28 feb 23:00", "1 mar 01:00", uk(2027, 3, 1, 0, 30), uk(2027, 2, 28, 23, 0), uk(2027, 3, 1, 1, 0)},
	} {
		a := &app{now: func() time.Time { return tc.now }}
		got, err := parseWhen(tc.start+" - "+tc.end, tc.now)
		if err != nil || !got.start.Equal(tc.from) || !got.end.Equal(tc.to) {
			t.Errorf("--when %q on %v: read as %v-%v (%v), want %v-%v", tc.start+" - "+tc.end, tc.now, got.start, got.end, err, tc.from, tc.to)
		}
		cols := map[string]string{"window_start": tc.start, "window_end": tc.end}
		got, err = a.csvTiming(func(k string) string { return cols[k] })
		if err != nil || !got.start.Equal(tc.from) || !got.end.Equal(tc.to) {
			t.Errorf("columns %q to %q on %v: read as %v-%v (%v), want %v-%v", tc.start, tc.end, tc.now, got.start, got.end, err, tc.from, tc.to)
		}
	}
	for _, tc := range []struct {
		in   string
		now  time.Time
		want string
	}{
		{"29 feb 10:00-12:00", uk(2029, 6, 1, 9, 0), "the next 29 February is in 2032"},
		{"29/2 10:00-12:00", uk(2028, 3, 1, 9, 0), "the next 29 February is in 2032"},
		{"29 feb 10:00 - 1 mar 10:00", uk(2029, 3, 2, 9, 0), "the next 29 February is in 2032"},
		{"29 feb 23:00 - 1 mar 01:00", uk(2027, 3, 1, 0, 30), "ends before it starts"},
	} {
		if _, err := parseWhen(tc.in, tc.now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--when %q on %v: %v, want an error saying %q", tc.in, tc.now, err, tc.want)
		}
	}
}
