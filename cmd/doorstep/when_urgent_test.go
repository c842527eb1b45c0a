package main

import (
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
