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
		{in: "sat 17:00-09:00", err: `"sat 17:00-09:00" ends before it starts: for help past midnight, give the day it ends too, as in "28 nov 17:00 to 29 nov 09:00"`},
		// 12am is the start of the day, not noon: a night sitter booked
		// "12am-6am" is wanted from midnight.
		{in: "sat 12am-6am", start: at(28, 0, 0), end: at(28, 6, 0)},
		// As an end, 12am is the midnight the evening runs to: a caller
		// wanting someone "from 11pm to 12am" means that night, not a
		// window ending before it starts.
		{in: "sat 11pm-12am", start: at(28, 23, 0), end: at(29, 0, 0)},
		{in: "sat 10:30pm-12:00am", start: at(28, 22, 30), end: at(29, 0, 0)},
		// Past midnight itself, the day it ends is asked for, as ever.
		// Only an evening runs to that midnight: "9-12am", as forms
		// write a morning, is not fifteen hours to the night's end.
		{in: "sat 9-12am", err: `"sat 9-12am" ends before it starts: 12am is midnight; for noon, give 12pm, as in "sat 9-12pm"`},
		{in: "sat 10am-12am", err: `"sat 10am-12am" ends before it starts: 12am is midnight; for noon, give 12pm, as in "sat 10am-12pm"`},
		{in: "sat 12pm-12am", start: at(28, 12, 0), end: at(29, 0, 0)},
		// Nor is a morning to half past twelve: "12:30am" is the night's.
		{in: "sat 11:30am-12:30am", err: `"sat 11:30am-12:30am" ends before it starts: 12am is midnight; for noon, give 12pm, as in "sat 11:30am-12:30pm"`},
		{in: "sat 11-12:15am", err: `"sat 11-12:15am" ends before it starts: 12am is midnight; for noon, give 12pm, as in "sat 11-12:15pm"`},
		{in: "sat 9-12pm", start: at(28, 9, 0), end: at(28, 12, 0)},
		{in: "sat 22:00-12am", start: at(28, 22, 0), end: at(29, 0, 0)},
		{in: "sat 11pm-12:30am", err: `"sat 11pm-12:30am" ends before it starts: for help past midnight, give the day it ends too, as in "28 nov 23:00 to 29 nov 00:30"`},
		// A year in two digits, as dates are written on forms, is this
		// century's.
		{in: "5/12/26 10-12", start: time.Date(2026, 12, 5, 10, 0, 0, 0, london), end: time.Date(2026, 12, 5, 12, 0, 0, 0, london)},
		// A window of no length is a slip of the keys, asked again here
		// rather than refused by the server once the call is over.
		{in: "sat 10-10", err: `"sat 10-10" ends before it starts`},
		// Help wanted by this very minute can no longer be given.
		{in: "today by 14:45", err: "Thu 26 Nov 14:45 has already passed"},
		// The server refuses a window starting more than 90 days away, as
		// it does such a deadline: asked again here, not after the call.
		{in: "12/03 9-11", err: "Fri 12 Mar 2027 09:00 is more than 90 days away"},
		{in: "12 march", err: "Fri 12 Mar 2027 00:00 is more than 90 days away"},
		{in: "by 12/03 18:00", err: "Fri 12 Mar 2027 18:00 is more than 90 days away"},
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

// TestAfternoonHourBesideItsOtherEnd: an hour from 1 to 6 is the afternoon
// only when the other end of the range allows it. "sat 6-9am" and a
// volunteer free "mon 5-8am" were refused as ending before they start,
// "sat 6-5" and "sat 6-20" lost their morning, "0-6" ran to 18:00, and
// "2:30-4" ran from the night to the afternoon.
func TestAfternoonHourBesideItsOtherEnd(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 45, 0, 0, london) // Thursday
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, london) }
	for _, tc := range []struct {
		in             string
		start, end, by time.Time
	}{
		{in: "sat 6-9am", start: at(28, 6, 0), end: at(28, 9, 0)},
		{in: "sat 5 to 8am", start: at(28, 5, 0), end: at(28, 8, 0)},
		{in: "sat 6-5", start: at(28, 6, 0), end: at(28, 17, 0)},
		{in: "sat 6-20", start: at(28, 6, 0), end: at(28, 20, 0)},
		{in: "sat 6-6pm", start: at(28, 6, 0), end: at(28, 18, 0)},
		{in: "sat 0-6", start: at(28, 0, 0), end: at(28, 6, 0)},
		{in: "sat 5am-6", start: at(28, 5, 0), end: at(28, 6, 0)},
		{in: "sat 2:30-4", start: at(28, 14, 30), end: at(28, 16, 0)},
		{in: "tomorrow by 4:30", by: at(27, 16, 30)},
		{in: "sat 04:30-06:00", start: at(28, 4, 30), end: at(28, 6, 0)}, // said plainly
		{in: "sat 6-9", start: at(28, 18, 0), end: at(28, 21, 0)},        // as before
		{in: "sat 9-5", start: at(28, 9, 0), end: at(28, 17, 0)},
		{in: "sat 12-2", start: at(28, 12, 0), end: at(28, 14, 0)},
		{in: "sat 0930-1100", start: at(28, 9, 30), end: at(28, 11, 0)},
		{in: "sat 6:30-9", start: at(28, 18, 30), end: at(28, 21, 0)}, // as "6-9" is
		{in: "sat 4:30-7", start: at(28, 16, 30), end: at(28, 19, 0)},
		{in: "sat 6-9:30", start: at(28, 18, 0), end: at(28, 21, 30)},
		{in: "sat 9:30-5", start: at(28, 9, 30), end: at(28, 17, 0)},
	} {
		got, err := parseWhen(tc.in, now)
		if err != nil || !got.start.Equal(tc.start) || !got.end.Equal(tc.end) || !got.deadline.Equal(tc.by) {
			t.Errorf("%q read as %v-%v by %v (%v), want %v-%v by %v", tc.in, got.start, got.end, got.deadline, err, tc.start, tc.end, tc.by)
		}
	}
	for in, want := range map[string]string{"mon 5-8am": "mon 05:00-08:00", "tue 0-6": "tue 00:00-06:00", "sat 6-20": "sat 06:00-20:00", "sat 1:30-4": "sat 13:30-16:00", "mon 4:30-7": "mon 16:30-19:00"} {
		slots, err := parseAvailability(in)
		if got := slotsWords(slots); err != nil || got != want {
			t.Errorf("--available %q = %s (%v), want %s", in, got, err, want)
		}
	}
}
