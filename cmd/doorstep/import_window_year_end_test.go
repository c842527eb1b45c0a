package main

import (
	"testing"
	"time"
)

// TestImportWindowColumnsBegunLastYear: a partner's sheet gives a
// window in two columns, the dates without years, as spreadsheets show
// them: "20/12 10:00" to "5/1 10:00". Imported on the 15th of December it
// was stored; run again on the 2nd of January, to add the week's new rows,
// the row was refused as ending before it starts (the 20th, passed, read
// as next December's), though the same window in the when column reads as
// the one begun, and still matches its stored row.
func TestImportWindowColumnsBegunLastYear(t *testing.T) {
	uk := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, london) }
	for _, tc := range []struct {
		start, end string
		now        time.Time
		from, to   time.Time
	}{
		{"20/12 10:00", "5/1 10:00", uk(2027, 1, 2, 9, 0), uk(2026, 12, 20, 10, 0), uk(2027, 1, 5, 10, 0)},
		{"31 dec 23:00", "1 jan 01:00", uk(2027, 1, 1, 0, 30), uk(2026, 12, 31, 23, 0), uk(2027, 1, 1, 1, 0)},
		{"20/12 10:00", "5/1 10:00", uk(2026, 12, 15, 9, 0), uk(2026, 12, 20, 10, 0), uk(2027, 1, 5, 10, 0)},
	} {
		a := &app{now: func() time.Time { return tc.now }}
		cols := map[string]string{"window_start": tc.start, "window_end": tc.end}
		got, err := a.csvTiming(func(k string) string { return cols[k] })
		if err != nil || !got.start.Equal(tc.from) || !got.end.Equal(tc.to) {
			t.Errorf("%q to %q on %v: read as %v-%v (%v), want %v-%v", tc.start, tc.end, tc.now, got.start, got.end, err, tc.from, tc.to)
		}
		when := map[string]string{"when": tc.start + " to " + tc.end}
		got, err = a.csvTiming(func(k string) string { return when[k] })
		if err != nil || !got.start.Equal(tc.from) || !got.end.Equal(tc.to) {
			t.Errorf("when %q on %v: read as %v-%v (%v), want %v-%v", when["when"], tc.now, got.start, got.end, err, tc.from, tc.to)
		}
	}
}
