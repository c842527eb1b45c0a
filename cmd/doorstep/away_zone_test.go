package main

import (
	"context"
	"testing"
	"time"
)

// TestAwayInTheirTimeZone: --away is read in the volunteer's time zone, as
// volunteer edit --help says. On Monday 9 March 2026 at 22:00 in New York
// (the US clocks went forward on the 8th, the UK's not until the 29th) it
// is already Tuesday 02:00 in the UK. A New York volunteer who rang to say
// they are away tomorrow was recorded away on Wednesday, and offered jobs
// all Tuesday, their day away; "today" took Tuesday off instead of Monday.
func TestAwayInTheirTimeZone(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"tomorrow", []string{"--away", "tomorrow"}, "2026-03-10..2026-03-10"},
		{"today", []string{"--away", "today"}, "2026-03-09..2026-03-09"},
		{"a weekday", []string{"--away", "mon"}, "2026-03-09..2026-03-09"},
		{"tomorrow to a date", []string{"--away", "tomorrow to 12 mar"}, "2026-03-10..2026-03-12"},
		// A zone given with the dates is theirs from now on.
		{"with the zone", []string{"--timezone", "Europe/London", "--away", "tomorrow"}, "2026-03-11..2026-03-11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			e.ok("volunteer", "edit", callum, "--timezone", "America/New_York")
			e.clock.t = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
			e.ok(append([]string{"volunteer", "edit", callum}, tc.args...)...)
			v, err := e.st.GetVolunteer(context.Background(), idOf(callum))
			if err != nil {
				t.Fatal(err)
			}
			away := v.GetAvailability().GetAway()
			if len(away) != 1 || isoDate(away[0].StartDate)+".."+isoDate(away[0].EndDate) != tc.want {
				t.Errorf("away %v, want %s", away, tc.want)
			}
		})
	}
}
