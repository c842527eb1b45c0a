package main

import "testing"

// TestParseAvailability: the weekly times a helpline worker types, read
// back in the form the list shows, and the sentence each mistake gets.
func TestParseAvailability(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "always", want: "daily 00:00-24:00"},
		{in: "tue 10:00-12:00, sat 9-17", want: "tue 10:00-12:00, sat 09:00-17:00"},
		{in: "weekdays 18-21", want: "weekdays 18:00-21:00"},
		{in: "mon 9am-5pm", want: "mon 09:00-17:00"},
		{in: "weekdays 6-9pm", want: "weekdays 18:00-21:00"},
		{in: "sat 12-2pm", want: "sat 12:00-14:00"},
		{in: "sat 11-2pm", want: "sat 11:00-14:00"},
		{in: "sat 9-5", want: "sat 09:00-17:00"},
		{in: "mon 18:00-24:00, tue 00:00-08:00", want: "mon 18:00-24:00, tue 00:00-08:00"},
		// An evening "till 12am" runs to the end of the day.
		{in: "fri 8pm-12am", want: "fri 20:00-24:00"},
		// A morning written "9-12am" is not a day running to midnight.
		{in: "fri 9-12am", err: `"fri 9-12am": the end is not after the start: 12am is midnight; for noon, give 12pm`},
		{in: "fri 11:30-12:30am", err: `"fri 11:30-12:30am": the end is not after the start: 12am is midnight; for noon, give 12pm`},
		{in: "fri 11pm-12:30am", err: `"fri 11pm-12:30am": the end is not after the start; a night is two parts, such as "mon 18:00-24:00, tue 00:00-08:00"`},
		// Days listed bare take the next hours given, as people say it.
		{in: "tue, thu 10-12", want: "tue thu 10:00-12:00"},
		{in: "mon; wed, fri 9-5, sat", want: "mon wed fri 09:00-17:00, sat 00:00-24:00"},
		{in: "sat, sun", want: "weekends 00:00-24:00"},
		{in: "sometimes", err: `"sometimes": start each part with a day (mon, tue, weekdays, weekends, daily or mon-fri)`},
		{in: "mon nine-five", err: `"mon nine-five": give times as 10:00-12:00`},
		{in: "mon 17:00-09:00", err: `"mon 17:00-09:00": the end is not after the start; a night is two parts, such as "mon 18:00-24:00, tue 00:00-08:00"`},
		{in: "sat 10-10", err: `"sat 10-10": the end is not after the start; a night is two parts, such as "mon 18:00-24:00, tue 00:00-08:00"`},
		{in: " , ", err: `say when they are free, e.g. "tue 10:00-12:00, sat 9-17" or always`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			slots, err := parseAvailability(tc.in)
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %s", err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case slotsWords(slots) != tc.want:
				t.Errorf("read as %q, want %q", slotsWords(slots), tc.want)
			}
		})
	}
}
