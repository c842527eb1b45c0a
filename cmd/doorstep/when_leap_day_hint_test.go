package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWhenFarLeapDayHintCanBeFollowed: on 27 November 2026 a worker types
// --when '29 feb 10:00-12:00' and is told the next 29 February is in 2028
// and to give the year if that is meant (2028-02-29). Done as told, the
// request is refused as more than 90 days away: a 29 February more than
// a year off is always beyond what help may be booked for, so the hint
// led only to a second refusal. A refusal of a --when, or of a partner's
// window columns, says what a worker can do: a hint to give the year is
// one that, followed, is read.
func TestWhenFarLeapDayHintCanBeFollowed(t *testing.T) {
	uk := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, london) }
	year := regexp.MustCompile(`give the year if that is meant \((\d{4}-02-29)\)`)
	for _, tc := range []struct {
		start, end string
		now        time.Time
	}{
		{"29 feb 10:00", "12:00", uk(2026, 11, 27, 18, 30)},
		{"29/2 10:00", "12:00", uk(2028, 3, 1, 9, 0)},
		{"29 feb 10:00", "1 mar 10:00", uk(2029, 3, 2, 9, 0)},
	} {
		when := tc.start + "-" + tc.end
		_, err := parseWhen(when, tc.now)
		if err == nil {
			t.Fatalf("--when %q on %v: read", when, tc.now)
		}
		if !strings.Contains(err.Error(), "more than 90 days away") {
			t.Errorf("--when %q on %v: %v, want it to say the day is more than 90 days away", when, tc.now, err)
		}
		if m := year.FindStringSubmatch(err.Error()); m != nil {
			f := strings.Fields(tc.start)
			followed := strings.Replace(when, strings.Join(f[:len(f)-1], " "), m[1], 1)
			if _, err2 := parseWhen(followed, tc.now); err2 != nil {
				t.Errorf("--when %q on %v: %v\nfollowed, --when %q: %v", when, tc.now, err, followed, err2)
			}
		}
		a := &app{now: func() time.Time { return tc.now }}
		cols := map[string]string{"window_start": tc.start, "window_end": tc.end}
		if _, err := a.csvTiming(func(k string) string { return cols[k] }); err == nil || year.MatchString(err.Error()) {
			t.Errorf("columns %q to %q on %v: %v, want a refusal that does not send the worker to give the year", tc.start, tc.end, tc.now, err)
		}
	}
}
