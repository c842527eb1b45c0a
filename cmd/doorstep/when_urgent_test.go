package main

import (
	"strings"
	"testing"
	"time"
)

// TestParseWhenUrgentWords: at 16:10 a man on his own has run out of
// insulin and needs someone at his door before 17:30. The words a helpline
// worker types for that were refused, "now until 17:30" with "cannot read
// "now until" as a day or time", while the caller waited; "now" is from
// this minute, "until" alone from now, and "the next hour" an hour.
func TestParseWhenUrgentWords(t *testing.T) {
	now := time.Date(2026, 3, 10, 16, 10, 0, 0, london) // a Tuesday, GMT
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, london) }
	for _, tc := range []struct {
		in             string
		start, end, by time.Time
	}{
		{in: "now until 17:30", start: at(16, 10), end: at(17, 30)},
		{in: "now-17:30", start: at(16, 10), end: at(17, 30)},
		{in: "now - 5:30pm", start: at(16, 10), end: at(17, 30)},
		{in: "now to 5:30", start: at(16, 10), end: at(17, 30)},
		{in: "Now till 17:30", start: at(16, 10), end: at(17, 30)},
		{in: "from now until 17:30", start: at(16, 10), end: at(17, 30)},
		{in: "until 17:30", start: at(16, 10), end: at(17, 30)},
		{in: "till 5:30pm", start: at(16, 10), end: at(17, 30)},
		{in: "in the next hour", by: at(17, 10)},
		{in: "within the hour", by: at(17, 10)},
		{in: "within the next hour", by: at(17, 10)},
		{in: "in the next 80 minutes", by: at(17, 30)},
		{in: "within half an hour", by: at(16, 40)},
		// "Until 12am", as "until midnight", is tonight's midnight, the
		// end of the day (as "11pm-12am" is), not this morning's, which
		// had passed: help wanted the rest of the day was refused.
		{in: "until 12am", start: at(16, 10), end: time.Date(2026, 3, 11, 0, 0, 0, 0, london)},
		{in: "now till 12:00am", start: at(16, 10), end: time.Date(2026, 3, 11, 0, 0, 0, 0, london)},
		{in: "until midnight", start: at(16, 10), end: time.Date(2026, 3, 11, 0, 0, 0, 0, london)},
		{in: "by 12am", by: time.Date(2026, 3, 11, 0, 0, 0, 0, london)},
		{in: "by midnight", by: time.Date(2026, 3, 11, 0, 0, 0, 0, london)},
		// As before.
		{in: "by 17:30", by: at(17, 30)},
		{in: "in 80 minutes", by: at(17, 30)},
		{in: "16:00-17:30", start: at(16, 0), end: at(17, 30)},
		{in: "now", start: at(16, 10), end: time.Date(2026, 3, 11, 0, 0, 0, 0, london)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseWhen(tc.in, now)
			switch {
			case err != nil:
				t.Errorf("error %v", err)
			case !got.start.Equal(tc.start) || !got.end.Equal(tc.end) || !got.deadline.Equal(tc.by):
				t.Errorf("read as %v-%v by %v, want %v-%v by %v", got.start, got.end, got.deadline, tc.start, tc.end, tc.by)
			}
		})
	}
	// A time already gone is still refused, in words about that time.
	if _, err := parseWhen("now until 16:00", now); err == nil {
		t.Errorf(`"now until 16:00" at 16:10 was taken`)
	}
}

// TestParseWhenUntilNextHourOnTheClock: "until 7" said at 16:10 means
// 19:00 and "until 1:30" said at half past midnight means 01:30, the next
// time the clock reads so; they were refused ("ends before it starts") and
// read as 13:30, a night's urgent need held open into the afternoon. A
// time already gone is refused as passed, in the words typed.
func TestParseWhenUntilNextHourOnTheClock(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, london) }
	for _, tc := range []struct {
		in       string
		now, end time.Time
	}{
		{"until 7", day(16, 10), day(19, 0)},
		{"now until 8:30", day(16, 10), day(20, 30)},
		{"until 5", day(16, 10), day(17, 0)},
		{"until 5", day(4, 0), day(5, 0)},
		{"until 1:30", day(0, 30), day(1, 30)},
		{"now-6", day(2, 15), day(6, 0)},
		{"until 12", day(22, 10), day(24, 0)},
		{"until 12", day(9, 10), day(12, 0)},
		{"until 10", day(9, 10), day(10, 0)},
		// Said outright, as before.
		{"until 17:30", day(16, 10), day(17, 30)},
		{"until 5am", day(4, 0), day(5, 0)},
		{"until 05:00", day(4, 0), day(5, 0)},
		{"until 7pm", day(16, 10), day(19, 0)},
	} {
		got, err := parseWhen(tc.in, tc.now)
		if err != nil || !got.end.Equal(tc.end) || !got.start.Equal(tc.now) {
			t.Errorf("%q at %s: %v-%v (%v), want %v-%v", tc.in, tc.now.Format("15:04"), got.start, got.end, err, tc.now, tc.end)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"until 16:00", "16:00 has already passed"},
		{"now until 4pm", "16:00 has already passed"},
		{"until fri", `cannot read "until fri"`},
	} {
		_, err := parseWhen(tc.in, day(16, 10))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q at 16:10: error %v, want one saying %s", tc.in, err, tc.want)
		}
	}
}

// TestParseWhenUntilNextHourPastMidnight: README says an hour without am
// or pm after "until" is the next time the clock reads it, but late in the
// evening "until 7" (the morning, the next time the clock reads 7) was
// refused as "07:00 has already passed", sending a night helpline worker
// to guess other words while the caller waited.
func TestParseWhenUntilNextHourPastMidnight(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, london) }
	for _, tc := range []struct {
		in       string
		now, end time.Time
	}{
		{"until 7", at(10, 22, 0), at(11, 7, 0)},
		{"now until 6", at(10, 19, 30), at(11, 6, 0)},
		{"until 1:30", at(10, 23, 0), at(11, 1, 30)},
		{"until 11", at(10, 23, 30), at(11, 11, 0)},
		// Across the night the clocks go forward (29 March 2026).
		{"until 8", at(28, 21, 0), at(29, 8, 0)},
	} {
		got, err := parseWhen(tc.in, tc.now)
		if err != nil || !got.end.Equal(tc.end) || !got.start.Equal(tc.now) {
			t.Errorf("%q at %s: %v-%v (%v), want %v-%v", tc.in, tc.now.Format("Mon 15:04"), got.start, got.end, err, tc.now, tc.end)
		}
	}
}
