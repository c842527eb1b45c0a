package matcher

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func win(start, end time.Time) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)}}
	}
}

func slotOn(d pb.DayOfWeek, fh, fm, th, tm int32) *pb.AvailabilitySlot {
	return &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{Hours: fh, Minutes: fm}, EndTime: &pb.TimeOfDay{Hours: th, Minutes: tm}}
}

// TestRulesAtTheirEdges checks FindCandidates against the rules at their
// edges: windows across midnight and the clocks changing, a window just
// touching a slot, away dates on the volunteer's own calendar, capacity
// just reached, and a DBS check running out within the window.
func TestRulesAtTheirEdges(t *testing.T) {
	mon := monday // 2026-11-30 Monday, GMT
	tests := []struct {
		name    string
		vol     func(*pb.Volunteer)
		req     func(*pb.HelpRequest)
		ok      bool
		reason  Reason
		explain string // substring expected
	}{
		{"window crossing midnight, Sunday late slot", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, 23, 0, 24, 0)}
		}, win(mon.Add(-90*time.Minute), mon.Add(90*time.Minute)), true, "", "free Sun 23:00-24:00"},
		{"window crossing midnight, Monday early slot", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_MONDAY, 0, 0, 1, 0)}
		}, win(mon.Add(-90*time.Minute), mon.Add(90*time.Minute)), true, "", "free Mon 00:00-01:00"},
		{"slot to 24:00 touching window from 00:00", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, 23, 0, 24, 0)}
		}, win(mon, mon.Add(time.Hour)), false, NotAvailable, ""},
		{"window ends as uneven slot starts", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_MONDAY, 10, 30, 12, 0)}
		}, win(mon.Add(9*time.Hour+30*time.Minute), mon.Add(10*time.Hour+30*time.Minute)), false, NotAvailable, ""},
		{"window starts as uneven slot ends", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_MONDAY, 10, 30, 11, 15)}
		}, win(mon.Add(11*time.Hour+15*time.Minute), mon.Add(12*time.Hour)), false, NotAvailable, ""},
		{"one minute overlap uneven", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_MONDAY, 10, 30, 11, 15)}
		}, win(mon.Add(11*time.Hour+14*time.Minute), mon.Add(12*time.Hour)), true, "", "free Mon 10:30-11:15"},
		{"away in Tokyo's calendar", func(v *pb.Volunteer) {
			v.Availability.TimeZone = "Asia/Tokyo"
			v.Availability.Weekly = everyDay(0, 24)
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 12, Day: 1}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: 1}}}
		}, win(mon.Add(16*time.Hour), mon.Add(18*time.Hour)), false, Away, ""},
		{"away in London, not yet in Tokyo", func(v *pb.Volunteer) {
			v.Availability.TimeZone = "Asia/Tokyo"
			v.Availability.Weekly = everyDay(0, 24)
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 11, Day: 30}, EndDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}}
		}, win(mon.Add(16*time.Hour), mon.Add(18*time.Hour)), true, "", "Tokyo time"},
		{"New York volunteer evening", func(v *pb.Volunteer) {
			v.Availability.TimeZone = "America/New_York"
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, 20, 0, 22, 0)}
		}, win(mon.Add(1*time.Hour), mon.Add(2*time.Hour)), true, "", "free Sun 20:00-22:00 New York time"},
		{"capacity exactly reached", func(v *pb.Volunteer) { v.Capacity, v.ActiveAssignments = 2, 2 }, nil, false, AtCapacity, ""},
		{"capacity one below", func(v *pb.Volunteer) { v.Capacity, v.ActiveAssignments = 2, 1 }, nil, true, "", ""},
		{"vetting expires on start day", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}
		}, func(r *pb.HelpRequest) { r.EntersHome = true }, true, "", ""},
		{"vetting expired before the only free day in window", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY, 10, 0, 12, 0)}
		}, func(r *pb.HelpRequest) {
			r.EntersHome = true
			win(mon.Add(9*time.Hour), mon.Add(2*24*time.Hour+13*time.Hour))(r)
		}, false, Vetting, ""},
		{"vetting lapses within the window, free before it does", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY, 10, 0, 12, 0), slotOn(pb.DayOfWeek_DAY_OF_WEEK_MONDAY, 11, 0, 12, 0)}
		}, func(r *pb.HelpRequest) {
			r.EntersHome = true
			win(mon.Add(9*time.Hour), mon.Add(2*24*time.Hour+13*time.Hour))(r)
		}, true, "", "free Mon 11:00-12:00"},
		{"vetting lapses within the window, needed by no need", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY, 10, 0, 12, 0)}
		}, win(mon.Add(9*time.Hour), mon.Add(2*24*time.Hour+13*time.Hour)), true, "", "free Wed 10:00-12:00"},
		{"vetting lapses in the window, not free at all", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2026, Month: 11, Day: 30}}
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY, 14, 0, 16, 0)}
		}, func(r *pb.HelpRequest) {
			r.EntersHome = true
			win(mon.Add(9*time.Hour), mon.Add(2*24*time.Hour+13*time.Hour))(r)
		}, false, NotAvailable, ""},
		{"DST spring gap slot", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, 1, 0, 2, 0)}
		}, win(time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC)), false, NotAvailable, ""},
		{"DST spring 01:30 slot uneven", func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek_DAY_OF_WEEK_SUNDAY, 1, 30, 2, 30)}
		}, win(time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 20, 0, 0, time.UTC)), true, "", "free Sun 01:30-02:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := vol("x", 100, 0)
			if tt.vol != nil {
				tt.vol(x)
			}
			r := req()
			if tt.req != nil {
				tt.req(r)
			}
			start := r.GetWindow().GetStartTime().AsTime()
			res, err := engineWith(t, vol("zz", 5000, 0), x).FindCandidates(r, nil, 5, start.Add(-48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			got := names(res.Candidates)
			if tt.ok {
				if !slices.Equal(got, []string{"x"}) {
					t.Fatalf("candidates %v, exclusions %v", got, res.Exclusions)
				}
				if ex := res.Candidates[0].Explain(); !strings.Contains(ex, tt.explain) {
					t.Errorf("explain %q, want %q", ex, tt.explain)
				}
				return
			}
			if len(got) != 0 || len(res.Exclusions) != 1 || res.Exclusions[0].Reason != tt.reason || res.Exclusions[0].Count != 1 {
				t.Errorf("candidates %v exclusions %v, want 1 %s", got, res.Exclusions, tt.reason)
			}
		})
	}
}
