package main

import (
	"strings"
	"testing"
	"time"
)

// TestWhenFarLeapDayAsTheEnd: on 27 November 2026 a worker types --when
// 'until 29 feb 10:00', or a night '28 feb 22:00 - 29 feb 02:00' (there
// is no 29 February in 2027). The next one, in 2028, ended no range, so
// the whole was read as one day and refused as 'cannot read "now to 29
// feb"': words the worker never typed, and nothing of why. As the end of
// a range, a 29 February years off is refused as it is as the start: the
// next one is in 2028, more than 90 days away.
func TestWhenFarLeapDayAsTheEnd(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 30, 0, 0, london)
	for _, when := range []string{"until 29 feb 10:00", "till 29/2 9am", "28 feb 22:00 - 29 feb 02:00", "1 mar 10:00 to 29 feb 12:00"} {
		_, err := parseWhen(when, now)
		if err == nil {
			t.Errorf("--when %q: read", when)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "the next 29 February is in 2028, more than 90 days away") || strings.Contains(msg, "now to") {
			t.Errorf("--when %q: %v\nwant it to say the next 29 February is in 2028, more than 90 days away, in the words typed", when, err)
		}
	}
}
