package main

import (
	"testing"
	"time"
)

// TestAuditTimeClocksGoBack: on the autumn night the clocks go back
// (Sun 25 Oct 2026, 02:00 BST to 01:00 GMT), a lead at 01:10 GMT looking
// at what was done since 01:30 means the 01:30 BST forty minutes gone, not
// last week's Sunday, nor the 01:30 GMT still to come. Said the day after,
// --since is from the first 01:30 and --until up to the second, so that no
// record of the hour that came twice is left out.
func TestAuditTimeClocksGoBack(t *testing.T) {
	bst0130 := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
	gmt0130 := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)
	during := time.Date(2026, 10, 25, 1, 10, 0, 0, time.UTC) // 01:10 GMT
	after := time.Date(2026, 10, 26, 10, 0, 0, 0, time.UTC)  // Monday
	for _, tc := range []struct {
		now  time.Time
		s    string
		end  bool
		want time.Time
	}{
		{during, "sun 01:30", false, bst0130},
		{during, "01:30", false, bst0130},
		{during, "2026-10-25 01:30", false, bst0130},
		{during, "sun 01:30", true, gmt0130},
		{after, "sun 01:30", false, bst0130},
		{after, "2026-10-25 01:30", false, bst0130},
		{after, "sun 01:30", true, gmt0130},
		{after, "2026-10-25T01:30:00Z", false, gmt0130}, // an offset says which
		{after, "2026-10-25T01:30:00+01:00", true, bst0130},
		{after, "sun 00:30", false, time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC)},
		{after, "fri 14:00", true, time.Date(2026, 10, 23, 13, 0, 0, 0, time.UTC)},
	} {
		got, err := parseAuditTime("--since", tc.s, tc.now, tc.end)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("at %s, %q (end %v): %s, %v; want %s", tc.now.In(london), tc.s, tc.end, got.In(london), err, tc.want.In(london))
		}
	}
}
