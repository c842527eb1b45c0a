package matcher

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A window cut at local midnights and clock changes keeps every minute it
// covers, once, in every zone: including those whose clocks change at
// midnight itself, where the next midnight may not exist (Chile, Cuba,
// the Azores: searches over such a change once never returned).
func TestWindowPiecesAtEveryClockChange(t *testing.T) {
	zones := []string{"Europe/London", "America/Santiago", "America/Havana", "Atlantic/Azores",
		"Asia/Beirut", "Africa/Cairo", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"}
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatalf("%s: %v", zone, err)
		}
		changes := 0
		for cur := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); cur.Year() < 2028; {
			_, change := cur.In(loc).ZoneBounds()
			if change.IsZero() || change.Year() >= 2028 {
				break // past the changes the zone's rules give (tzdata's last is a sentinel in 2038)
			}
			changes++
			for _, w := range [][2]time.Duration{{-90 * time.Minute, 90 * time.Minute}, {-26 * time.Hour, 3 * time.Hour}, {-time.Minute, time.Minute}} {
				start, end := change.Add(w[0]), change.Add(w[1])
				done := make(chan []piece, 1)
				go func() { done <- appendWindowPieces(nil, start, end, loc) }()
				var ps []piece
				select {
				case ps = <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: the window %s to %s, over the change at %s, is never cut", zone, start, end, change)
				}
				checkPieces(t, zone, ps, start, end)
			}
			cur = change
		}
		if changes == 0 {
			t.Errorf("%s: no clock changes found to test", zone)
		}
	}
}

func checkPieces(t *testing.T, zone string, ps []piece, start, end time.Time) {
	t.Helper()
	minutes, last := 0, int32(-1)
	for _, p := range ps {
		if p.from < 0 || p.from >= p.to || p.to > 1440 || p.day < last {
			t.Fatalf("%s %s-%s: bad piece %+v in %+v", zone, start, end, p, ps)
		}
		minutes += int(p.to - p.from)
		last = p.day
	}
	if want := int(end.Sub(start) / time.Minute); minutes != want {
		t.Errorf("%s %s-%s: pieces cover %d minutes, want %d: %+v", zone, start.In(time.UTC), end.In(time.UTC), minutes, want, ps)
	}
}

// A window that starts mid-minute touches that minute, and ends where it
// ends: help due by 12:00 does not reach into 12:00-12:01, which would
// count a volunteer free only from 12:00.
func TestWindowPiecesMidMinute(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) // a Monday, GMT
	tests := []struct {
		name       string
		start, end time.Duration
		from, to   int16
	}{
		{"due by 12:00 from 09:30:30", 9*time.Hour + 30*time.Minute + 30*time.Second, 12 * time.Hour, 570, 720},
		{"within one minute", 10*time.Hour + 30*time.Second, 10*time.Hour + 45*time.Second, 600, 601},
		{"into the next minute", 10*time.Hour + 30*time.Second, 10*time.Hour + 90*time.Second, 600, 602},
		{"on the minute", 10 * time.Hour, 11 * time.Hour, 600, 660},
		{"ends mid-minute", 10 * time.Hour, 11*time.Hour + time.Second, 600, 661},
	}
	for _, tt := range tests {
		ps := appendWindowPieces(nil, day.Add(tt.start), day.Add(tt.end), london)
		if len(ps) != 1 || ps[0].from != tt.from || ps[0].to != tt.to {
			t.Errorf("%s: %+v, want minutes %d-%d", tt.name, ps, tt.from, tt.to)
		}
	}
}

// Over a window of several days, a volunteer whose only free hours fall on
// a day they are away is away, not busy: the helpline reads "away then".
func TestAwayOnTheDayTheyWouldHaveBeenFree(t *testing.T) {
	date := func(d int32) *pb.Date { return &pb.Date{Year: 2026, Month: 12, Day: d} }
	tests := []struct {
		name   string
		away   []*pb.DateRange
		want   Reason // "" for a candidate
		window [2]time.Duration
	}{
		{"away the Tuesday", []*pb.DateRange{{StartDate: date(1), EndDate: date(1)}}, Away, [2]time.Duration{9 * time.Hour, 2*24*time.Hour + 17*time.Hour}},
		{"away the Monday, free the Tuesday", []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 11, Day: 30}, EndDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}}, "", [2]time.Duration{9 * time.Hour, 2*24*time.Hour + 17*time.Hour}},
		{"away only a day without hours", []*pb.DateRange{{StartDate: date(2), EndDate: date(2)}}, "", [2]time.Duration{9 * time.Hour, 2*24*time.Hour + 17*time.Hour}},
		{"not away, window misses Tuesday", nil, NotAvailable, [2]time.Duration{9 * time.Hour, 17 * time.Hour}},
		{"away a day the window does not touch", []*pb.DateRange{{StartDate: date(1), EndDate: date(1)}}, NotAvailable, [2]time.Duration{9 * time.Hour, 17 * time.Hour}},
		{"away throughout", []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 11, Day: 30}, EndDate: date(2)}}, Away, [2]time.Duration{9 * time.Hour, 17 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := vol("x", 100, 0, func(v *pb.Volunteer) {
				v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{Hours: 9}, EndTime: &pb.TimeOfDay{Hours: 17}}}
				v.Availability.Away = tt.away
			})
			e := engineWith(t, v)
			r := req(func(r *pb.HelpRequest) { // from Monday 30 November 2026
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(tt.window[0])), EndTime: timestamppb.New(monday.Add(tt.window[1]))}}
			})
			res, err := e.FindCandidates(r, nil, 5, now)
			if err != nil {
				t.Fatal(err)
			}
			var got Reason
			if len(res.Exclusions) == 1 {
				got = res.Exclusions[0].Reason
			}
			if len(res.Candidates)+len(res.Exclusions) != 1 || got != tt.want {
				t.Errorf("candidates %v, exclusions %v; want reason %q", names(res.Candidates), res.Exclusions, tt.want)
			}
			ok, why, _ := e.Eligible(r, nil, "volunteers/x", now)
			if ok != (tt.want == "") || why.Reason != tt.want {
				t.Errorf("Eligible: %v %v, want reason %q", ok, why, tt.want)
			}
		})
	}
}
