package main

import (
	"testing"
	"time"
)

// TestParseLeapDayWithoutYear: a 29 February typed without a year was
// built in the current year and, once passed, moved on a year, which
// time.Date rolls over to 1 March: "--away '29 feb'" typed on 1 March
// 2028 was stored as away on 1 March 2029, a day nobody gave, and in a
// year without one "29 feb" was refused as no date, though the next was
// weeks away. It is the next 29 February within a year, or refused
// naming the year it would be.
func TestParseLeapDayWithoutYear(t *testing.T) {
	for _, tc := range []awayCase{
		{in: "29 feb", now: time.Date(2028, 2, 10, 9, 0, 0, 0, london), want: "2028-02-29..2028-02-29"},
		{in: "29/2", now: time.Date(2028, 2, 29, 9, 0, 0, 0, london), want: "2028-02-29..2028-02-29"},
		{in: "29 feb", now: time.Date(2027, 6, 1, 9, 0, 0, 0, london), want: "2028-02-29..2028-02-29"},
		{in: "28 feb-1 mar", now: time.Date(2027, 6, 1, 9, 0, 0, 0, london), want: "2028-02-28..2028-03-01"},
		{in: "29 feb", now: time.Date(2028, 3, 1, 9, 0, 0, 0, london), fail: `"29 feb": the next 29 February is in 2032; give the year if that is meant (2032-02-29)`},
		{in: "29/2", now: time.Date(2029, 1, 10, 9, 0, 0, 0, london), fail: `"29/2": the next 29 February is in 2032; give the year if that is meant (2032-02-29)`},
		{in: "29 feb 2032", now: time.Date(2029, 1, 10, 9, 0, 0, 0, london), want: "2032-02-29..2032-02-29"},
		{in: "29 feb 2029", now: time.Date(2029, 1, 10, 9, 0, 0, 0, london), fail: `"29 feb 2029" is not a date (day/month)`},
	} {
		t.Run(tc.in+" on "+tc.now.Format("2006-01-02"), tc.check)
	}
}
