package main

import (
	"testing"
	"time"
)

// TestWhenClocksGoForward: on the night the clocks go forward (Sunday 29
// March 2026, 01:00 GMT is 02:00 BST) the hour from 01:00 to 02:00 never
// comes. A request for "sun 1:30am-2:30am" was refused as ending before it
// starts, for both ends read as 02:30 BST; "by sun 1:30am" ran on to 02:30.
// A time in the skipped hour is the moment the clocks passed it, 02:00
// BST, and a window wholly inside the hour is refused for that reason.
func TestWhenClocksGoForward(t *testing.T) {
	now := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC) // Saturday
	change := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	utc := func(h, m int) time.Time { return time.Date(2026, 3, 29, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		in             string
		start, end, by time.Time
		show, err      string
	}{
		{in: "sun 1:30am-2:30am", start: change, end: utc(1, 30), show: "Sun 29 Mar 02:00-02:30"},
		{in: "sun 01:30-02:30", start: change, end: utc(1, 30), show: "Sun 29 Mar 02:00-02:30"},
		{in: "2026-03-29 01:30 to 2026-03-29 02:30", start: change, end: utc(1, 30), show: "Sun 29 Mar 02:00-02:30"},
		{in: "sun 00:30-01:30", start: utc(0, 30), end: change, show: "Sun 29 Mar 00:30-02:00"},
		{in: "by sun 1:30am", by: change, show: "by Sun 29 Mar 02:00"},
		{in: "sun 01:00-03:00", start: change, end: utc(2, 0), show: "Sun 29 Mar 02:00-03:00"},
		{in: "sun 00:00-02:00", start: utc(0, 0), end: change, show: "Sun 29 Mar 00:00-02:00"},
		{in: "sun 1am-2am", err: `"sun 1am-2am" is in the hour the clocks skip on Sun 29 Mar: at 01:00 they go forward to 02:00`},
		{in: "sun 01:15-01:45", err: `"sun 01:15-01:45" is in the hour the clocks skip on Sun 29 Mar: at 01:00 they go forward to 02:00`},
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
				t.Errorf("read as %v-%v by %v, want %v-%v by %v", got.start.UTC(), got.end.UTC(), got.deadline.UTC(), tc.start, tc.end, tc.by)
			case got.show(now) != tc.show:
				t.Errorf("read back as %q, want %q", got.show(now), tc.show)
			}
		})
	}
}

// TestWhenClocksGoBack: on the night the clocks go back (Sunday 25
// October 2026, 02:00 BST is 01:00 GMT) 01:00-02:00 comes twice. A worker
// at 00:50 BST who types "by 1:30am" means in 40 minutes, and "sun
// 00:30-01:30" is an hour: the first 01:30, BST. Read as the second, the
// deadline ran an hour on and the window was two hours long.
func TestWhenClocksGoBack(t *testing.T) {
	now := time.Date(2026, 10, 24, 23, 50, 0, 0, time.UTC) // Sun 00:50 BST
	utc := func(d, h, m int) time.Time { return time.Date(2026, 10, d, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		in             string
		start, end, by time.Time
	}{
		{in: "by 1:30am", by: utc(25, 0, 30)},
		{in: "sun 00:30-01:30", start: utc(24, 23, 30), end: utc(25, 0, 30)},
		{in: "sun 01:15-01:45", start: utc(25, 0, 15), end: utc(25, 0, 45)},
		{in: "sun 01:30-03:00", start: utc(25, 0, 30), end: utc(25, 3, 0)},
		{in: "sun 02:00-03:00", start: utc(25, 2, 0), end: utc(25, 3, 0)}, // after the hour: as ever
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseWhen(tc.in, now)
			switch {
			case err != nil:
				t.Errorf("error %v", err)
			case !got.start.Equal(tc.start) || !got.end.Equal(tc.end) || !got.deadline.Equal(tc.by):
				t.Errorf("read as %v-%v by %v, want %v-%v by %v", got.start.UTC(), got.end.UTC(), got.deadline.UTC(), tc.start, tc.end, tc.by)
			}
		})
	}
}

// TestWhenClocksGoBackSecondHour: once the clocks have gone back (01:10
// GMT, the first 01:30 BST an hour gone), a worker who types "by 1:30am"
// means in 20 minutes, the 01:30 still to come; read as the first coming,
// the deadline had passed and the CLI refused it, and so too a window in
// the hour now running. Said before the first coming, they are still it.
func TestWhenClocksGoBackSecondHour(t *testing.T) {
	utc := func(d, h, m int) time.Time { return time.Date(2026, 10, d, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		now            time.Time
		in             string
		start, end, by time.Time
	}{
		{now: utc(25, 1, 10), in: "by 1:30am", by: utc(25, 1, 30)},
		{now: utc(25, 1, 10), in: "01:30", by: utc(25, 1, 30)},
		{now: utc(25, 1, 10), in: "2026-10-25 01:30", by: utc(25, 1, 30)},
		{now: utc(25, 1, 10), in: "sun 01:00-01:45", start: utc(25, 1, 0), end: utc(25, 1, 45)},
		{now: utc(25, 1, 10), in: "sun 01:30-01:45", start: utc(25, 1, 30), end: utc(25, 1, 45)},
		{now: utc(25, 1, 10), in: "sun 01:30-03:00", start: utc(25, 1, 30), end: utc(25, 3, 0)},
		// In the first coming of the hour (01:40 BST, 01:20 BST): the
		// first, as before.
		{now: utc(25, 0, 40), in: "sun 01:00-01:45", start: utc(25, 0, 0), end: utc(25, 0, 45)},
		{now: utc(25, 0, 20), in: "by 1:30am", by: utc(25, 0, 30)},
	} {
		t.Run(tc.now.Format("15:04Z ")+tc.in, func(t *testing.T) {
			got, err := parseWhen(tc.in, tc.now)
			switch {
			case err != nil:
				t.Errorf("error %v", err)
			case !got.start.Equal(tc.start) || !got.end.Equal(tc.end) || !got.deadline.Equal(tc.by):
				t.Errorf("read as %v-%v by %v, want %v-%v by %v", got.start.UTC(), got.end.UTC(), got.deadline.UTC(), tc.start, tc.end, tc.by)
			}
		})
	}
}
