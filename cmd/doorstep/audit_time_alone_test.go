package main

import (
	"testing"
	"time"
)

// TestAuditTimeAloneLooksBack: at 10:00 a lead asks what was done since
// 14:00, meaning yesterday afternoon's: read as today's 14:00 still to
// come, the list was empty ("No audit records match"), as if nothing had
// been done. A time alone that has come today stays today's, and "today
// 14:00" says which day it means.
func TestAuditTimeAloneLooksBack(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) // Fri, GMT
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		s    string
		end  bool
		want time.Time
	}{
		{"14:00", false, at(26, 14, 0)},
		{"2pm", true, at(26, 14, 0)},
		{"9am", false, at(27, 9, 0)},
		{"today 14:00", false, at(27, 14, 0)},
		{"fri 14:00", false, at(20, 14, 0)},
	} {
		got, err := parseAuditTime("--since", tc.s, now, tc.end)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q (end %v): %s, %v; want %s", tc.s, tc.end, got, err, tc.want)
		}
	}
}
