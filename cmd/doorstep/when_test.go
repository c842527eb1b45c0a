package main

import (
	"testing"
	"time"
)

// TestParseWhen reads times as a helpline worker types them, in UK time,
// on Thursday 26 November 2026 at 14:45: ranges read as people say them
// ("2-4pm" is the afternoon, "9-5" a working day).
func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 45, 0, 0, london)
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, london) }
	for _, tc := range []struct {
		in             string
		start, end, by time.Time
		err            string
	}{
		{in: "sat 2-4pm", start: at(28, 14, 0), end: at(28, 16, 0)},
		{in: "sat 2pm-4pm", start: at(28, 14, 0), end: at(28, 16, 0)},
		{in: "today 6-9pm", start: at(26, 18, 0), end: at(26, 21, 0)},
		{in: "sat 11-2pm", start: at(28, 11, 0), end: at(28, 14, 0)},
		{in: "sat 12-2pm", start: at(28, 12, 0), end: at(28, 14, 0)},
		{in: "sat 10am-2pm", start: at(28, 10, 0), end: at(28, 14, 0)},
		{in: "sat 1:30-4pm", start: at(28, 13, 30), end: at(28, 16, 0)},
		{in: "sat 9-5", start: at(28, 9, 0), end: at(28, 17, 0)},
		{in: "tomorrow 10:00-12:00", start: at(27, 10, 0), end: at(27, 12, 0)},
		{in: "tomorrow by 6pm", by: at(27, 18, 0)},
		{in: "sat 17:00-09:00", err: `"sat 17:00-09:00" ends before it starts`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseWhen(tc.in, now)
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %s", err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case !got.start.Equal(tc.start) || !got.end.Equal(tc.end) || !got.deadline.Equal(tc.by):
				t.Errorf("read as %v-%v by %v, want %v-%v by %v", got.start, got.end, got.deadline, tc.start, tc.end, tc.by)
			}
		})
	}
}
