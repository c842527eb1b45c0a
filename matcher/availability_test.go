package matcher

import (
	"math/rand/v2"
	"slices"
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

// TestAwayThroughout: the days a span touches are the volunteer's own,
// in their time zone, and every one of them must be away.
func TestAwayThroughout(t *testing.T) {
	day := func(y int, m time.Month, d int) *pb.Date {
		return &pb.Date{Year: int32(y), Month: int32(m), Day: int32(d)}
	}
	away := func(zone string, ranges ...[2]*pb.Date) *pb.Availability {
		av := &pb.Availability{TimeZone: zone}
		for _, r := range ranges {
			av.Away = append(av.Away, &pb.DateRange{StartDate: r[0], EndDate: r[1]})
		}
		return av
	}
	utc := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name       string
		av         *pb.Availability
		start, end time.Time
		want       bool
	}{
		{"away every day of it", away("", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 3)}), utc(12, 1, 10, 0), utc(12, 3, 12, 0), true},
		{"back on its last day", away("", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 2)}), utc(12, 1, 10, 0), utc(12, 3, 12, 0), false},
		{"two ranges end to end", away("", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 1)}, [2]*pb.Date{day(2026, 12, 2), day(2026, 12, 9)}), utc(12, 1, 10, 0), utc(12, 3, 12, 0), true},
		{"not away at all", away(""), utc(12, 1, 10, 0), utc(12, 1, 12, 0), false},
		{"ends at midnight: the next day is not touched", away("", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 1)}), utc(12, 1, 10, 0), utc(12, 2, 0, 0), true},
		// 00:30-01:30 UTC on 1 July is 01:30-02:30 on 1 July in London.
		{"UK summer time: the day is London's", away("", [2]*pb.Date{day(2026, 7, 1), day(2026, 7, 1)}), utc(7, 1, 0, 30), utc(7, 1, 1, 30), true},
		// 02:00-04:00 UTC on 2 December is 21:00-23:00 on 1 December in New York.
		{"their own zone's day", away("America/New_York", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 1)}), utc(12, 2, 2, 0), utc(12, 2, 4, 0), true},
		{"their own zone's day, not UTC's", away("America/New_York", [2]*pb.Date{day(2026, 12, 2), day(2026, 12, 2)}), utc(12, 2, 2, 0), utc(12, 2, 4, 0), false},
		{"an empty span", away("", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 1)}), utc(12, 1, 10, 0), utc(12, 1, 10, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AwayThroughout(tt.av, tt.start, tt.end)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("AwayThroughout = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := AwayThroughout(away("Mars/Olympus", [2]*pb.Date{day(2026, 12, 1), day(2026, 12, 1)}), utc(12, 1, 0, 0), utc(12, 2, 0, 0)); err == nil {
		t.Error("an unknown time zone: no error")
	}
}

// TestAwaySpanMatchesDates: away dates kept as one span in the packed
// record (hotSpan) say away on exactly the days the dates do, and are kept
// so only when they are one span that fits; the hours in the same words
// are left as they were.
func TestAwaySpanMatchesDates(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	base := civilDay(2026, 11, 1)
	for range 20000 {
		var away [][2]int32
		for range 1 + rng.IntN(3) {
			lo := base + int32(rng.IntN(40))
			away = append(away, [2]int32{lo, lo + int32(rng.IntN(12)) - 2}) // some inverted
		}
		if rng.IntN(50) == 0 {
			away[0] = [2]int32{-5, 3} // before 1970: not kept
		}
		var h hotVol
		for d := range h.week {
			h.week[d] = rng.Uint32() & hotHours
		}
		week := h.week
		h.setAwaySpan(away)
		for d := range h.week {
			if h.week[d]&hotHours != week[d] {
				t.Fatalf("%v: the hours of day %d changed", away, d)
			}
		}
		if h.flags&hotSpan == 0 {
			// Not kept: the days away are none, or not one run of days,
			// or start before 1970; and the side record is read.
			var days []int32
			for day := int32(-10); day < base+60; day++ {
				if awayOn(away, day) {
					days = append(days, day)
				}
			}
			if len(days) > 0 && days[0] >= 0 && int(days[len(days)-1]-days[0]) == len(days)-1 {
				t.Fatalf("%v: one span of days, %d..%d, not kept", away, days[0], days[len(days)-1])
			}
			e := Engine{hot: []hotVol{h}, extra: []*volExtra{{away: away}}}
			e.hot[0].flags |= hotExtra
			var span [1][2]int32
			if got := e.awayDays(0, &span); !slices.Equal(got, away) {
				t.Fatalf("%v: awayDays %v without a span", away, got)
			}
			continue
		}
		lo, hi := h.awaySpan()
		for day := base - 10; day < base+60; day++ {
			if got, want := day >= lo && day <= hi, awayOn(away, day); got != want {
				t.Fatalf("%v: span %d..%d says away on %d: %v, the dates %v", away, lo, hi, day, got, want)
			}
		}
	}
}

// TestPackedSlotRoundTrip: every slot a day can hold comes back from the
// arena's 4 bytes as it went in.
func TestPackedSlotRoundTrip(t *testing.T) {
	for from := int16(0); from <= 1440; from++ {
		for to := int16(0); to <= 1440; to++ {
			s := slot{day: uint8(from+to) % 7, from: from, to: to}
			if got := s.pack().slot(); got != s || s.pack().day() != s.day {
				t.Fatalf("%+v packed and unpacked is %+v", s, got)
			}
		}
	}
}
