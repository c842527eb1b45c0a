package main

import (
	"strings"
	"testing"
	"time"
)

// TestParseWhenPastMidnightHintKeepsTheMorning: a worker types a night
// sit as people say it, "31 dec 11pm-1" or "fri 22-6", the end a bare
// hour. That end was read as the afternoon (1 to 6 with no am or pm is,
// alone), so the refusal's words for the night ran to 1 jan 13:00 or to
// 18:00 the next day: a sit of fourteen or twenty hours, which a worker
// copying the words would have booked. Over midnight, a bare hour is the
// morning.
func TestParseWhenPastMidnightHintKeepsTheMorning(t *testing.T) {
	dec15 := time.Date(2026, 12, 15, 10, 0, 0, 0, london)
	for _, tc := range []struct{ in, say string }{
		{"31 dec 11pm-1", "31 dec 23:00 to 1 jan 01:00"},
		{"31 dec 23:00-1", "31 dec 23:00 to 1 jan 01:00"},
		{"18/12 22-6", "18 dec 22:00 to 19 dec 06:00"},
		{"18/12 8pm-6:30", "18 dec 20:00 to 19 dec 06:30"},
		{"18/12 11pm-12", "18 dec 23:00 to 19 dec 00:00"},
		// Said with a 24-hour clock or am, as before.
		{"18/12 23:00-01:00", "18 dec 23:00 to 19 dec 01:00"},
		{"18/12 22:00-9am", "18 dec 22:00 to 19 dec 09:00"},
	} {
		_, err := parseWhen(tc.in, dec15)
		if err == nil || !strings.HasSuffix(err.Error(), `as in "`+tc.say+`"`) {
			t.Errorf("%q: error %v, want it to give %q", tc.in, err, tc.say)
		}
	}
}
