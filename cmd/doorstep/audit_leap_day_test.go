package main

import (
	"testing"
	"time"
)

// TestAuditTimeLeapDay: in March 2028 a lead looking into what was done
// on 29 February says "29 feb": it is the one gone, as "20 nov" is, where
// it was refused as words that were not a day ("cannot read"), the next
// 29 February being years off.
func TestAuditTimeLeapDay(t *testing.T) {
	for _, tc := range []struct {
		now  time.Time
		s    string
		end  bool
		want time.Time
	}{
		{time.Date(2028, 3, 10, 10, 0, 0, 0, time.UTC), "29 feb", false, time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		{time.Date(2028, 3, 10, 10, 0, 0, 0, time.UTC), "29 feb", true, time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2028, 3, 10, 10, 0, 0, 0, time.UTC), "29/02 14:00", false, time.Date(2028, 2, 29, 14, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), "29 feb 9am", false, time.Date(2024, 2, 29, 9, 0, 0, 0, time.UTC)},
		{time.Date(2028, 2, 10, 10, 0, 0, 0, time.UTC), "29 feb", false, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := parseAuditTime("--since", tc.s, tc.now, tc.end)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("at %s, %q (end %v): %s, %v; want %s", tc.now, tc.s, tc.end, got, err, tc.want)
		}
	}
}
