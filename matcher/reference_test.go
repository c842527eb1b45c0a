package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// refReason is the rule v fails for r, or "", worked out the slow way:
// minute by minute through the window on the volunteer's own clock and
// calendar.
func refReason(v *pb.Volunteer, r *pb.HelpRequest, metres float64, now time.Time, minVet pb.Vetting_DbsLevel, skills []string) Reason {
	if metres > float64(v.MaxDistanceMetres) {
		return TooFar
	}
	if v.Paused {
		return Paused
	}
	if slices.Contains(r.DeclinedVolunteers, v.Name) {
		return DeclinedBefore
	}
	if v.ActiveAssignments+v.PendingOffers >= v.Capacity {
		return AtCapacity
	}
	for _, s := range skills {
		if !slices.Contains(v.Skills, s) {
			return MissingSkill
		}
	}
	loc, _ := time.LoadLocation(v.Availability.TimeZone)
	start, end := r.GetWindow().GetStartTime().AsTime(), r.GetWindow().GetEndTime().AsTime()
	if start.Before(now) {
		start = now
	}
	civ := func(t time.Time) int32 { lt := t.In(loc); return civilDay(lt.Date()) }
	until := int32(1 << 30)
	if minVet > pb.Vetting_DBS_LEVEL_NONE {
		lvl := v.Vetting.Level
		if d := v.Vetting.ExpireDate; d != nil {
			until = civilDay(int(d.Year), time.Month(d.Month), int(d.Day))
			if civ(start) > until {
				lvl = pb.Vetting_DBS_LEVEL_NONE
			}
		}
		if lvl < minVet {
			return Vetting
		}
	}
	awayOnDay := func(day int32) bool {
		for _, a := range v.Availability.Away {
			if day >= civilDay(int(a.StartDate.Year), time.Month(a.StartDate.Month), int(a.StartDate.Day)) && day <= civilDay(int(a.EndDate.Year), time.Month(a.EndDate.Month), int(a.EndDate.Day)) {
				return true
			}
		}
		return false
	}
	inSlot := func(t time.Time) bool {
		lt := t.In(loc)
		m := int32(lt.Hour()*60 + lt.Minute())
		for _, s := range v.Availability.Weekly {
			if time.Weekday(s.Day%7) == lt.Weekday() && m >= s.StartTime.Hours*60+s.StartTime.Minutes && m < s.EndTime.Hours*60+s.EndTime.Minutes {
				return true
			}
		}
		return false
	}
	free, freeVetted, missed, allAway := false, false, false, true
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		day := civ(t)
		gone := awayOnDay(day)
		allAway = allAway && gone
		if inSlot(t) {
			if gone {
				missed = true
			} else {
				free = true
				if day <= until {
					freeVetted = true
				}
			}
		}
	}
	switch {
	case free && !freeVetted:
		return Vetting
	case free:
		return ""
	case missed || allAway:
		return Away
	}
	return NotAvailable
}

// TestRulesAgainstReference checks FindCandidates, Eligible and the
// exclusion counts against refReason on random volunteers in several time
// zones, for windows across the clocks changing and midnight, with away
// dates and DBS checks that run out near the window.
func TestRulesAgainstReference(t *testing.T) {
	zones := []string{"Europe/London", "Europe/London", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"}
	bases := []time.Time{
		time.Date(2026, 3, 28, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 24, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 4, 10, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fails := 0
	for trial := 0; trial < 500 && fails < 10; trial++ {
		base := bases[rng.IntN(len(bases))].Add(time.Duration(rng.IntN(48*60)) * time.Minute)
		dur := time.Duration(10+rng.IntN(3*24*60)) * time.Minute
		now := base.Add(-time.Duration(rng.IntN(300)) * time.Minute)
		var vs []*pb.Volunteer
		for i := 0; i < 12; i++ {
			v := vol(fmt.Sprintf("v%02d", i), float64(rng.IntN(1300)), float64(rng.IntN(500)), func(v *pb.Volunteer) {
				v.Availability.TimeZone = zones[rng.IntN(len(zones))]
				v.Availability.Weekly = nil
				for n := rng.IntN(4); n > 0; n-- {
					from := int32(rng.IntN(24*4)) * 15
					to := from + int32(15+rng.IntN(8*4)*15)
					if to > 1440 {
						to = 1440
					}
					v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: pb.DayOfWeek(1 + rng.IntN(7)), StartTime: &pb.TimeOfDay{Hours: from / 60, Minutes: from % 60}, EndTime: &pb.TimeOfDay{Hours: to / 60, Minutes: to % 60}})
				}
				if rng.IntN(3) == 0 {
					d := base.AddDate(0, 0, rng.IntN(5)-2)
					e := d.AddDate(0, 0, rng.IntN(3))
					v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())}, EndDate: &pb.Date{Year: int32(e.Year()), Month: int32(e.Month()), Day: int32(e.Day())}}}
				}
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DbsLevel(1 + rng.IntN(3))}
				if rng.IntN(2) == 0 {
					d := base.AddDate(0, 0, rng.IntN(5)-2)
					v.Vetting.ExpireDate = &pb.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())}
				}
				v.Capacity = int32(1 + rng.IntN(2))
				v.ActiveAssignments = int32(rng.IntN(2))
				if rng.IntN(10) == 0 {
					v.Paused = true
				}
			})
			vs = append(vs, v)
		}
		e := engineWith(t, vs...)
		r := req(win(base, base.Add(dur)), func(r *pb.HelpRequest) { r.EntersHome = rng.IntN(2) == 0 })
		minVet := pb.Vetting_DBS_LEVEL_NONE
		if r.EntersHome {
			minVet = pb.Vetting_DBS_LEVEL_ENHANCED
		}
		res, err := e.FindCandidates(r, nil, 20, now)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, c := range res.Candidates {
			got[c.Volunteer] = true
		}
		wantCounts := map[Reason]int{}
		for _, v := range vs {
			lat, lng := v.Home.LatLng.Latitude, v.Home.LatLng.Longitude
			m := ApproxMetres(baseLat, baseLng, lat, lng)
			want := refReason(v, r, m, now, minVet, nil)
			ok, why, _ := e.Eligible(r, nil, v.Name, now)
			if (want == "") != got[v.Name] || (want == "") != ok || (!ok && why.Reason != want) {
				fails++
				t.Errorf("trial %d %s zone %s window %v-%v now %v: want %q, found %v, eligible %v %v\n%v", trial, v.Name, v.Availability.TimeZone, base, base.Add(dur), now, want, got[v.Name], ok, why, v.Availability)
			}
			if want != "" {
				wantCounts[want]++
			}
		}
		for _, c := range res.Candidates {
			var v *pb.Volunteer
			for _, x := range vs {
				if x.Name == c.Volunteer {
					v = x
				}
			}
			one := proto.Clone(v).(*pb.Volunteer)
			one.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek((int(c.slot.day)+6)%7 + 1), StartTime: &pb.TimeOfDay{Hours: int32(c.slot.from / 60), Minutes: int32(c.slot.from % 60)}, EndTime: &pb.TimeOfDay{Hours: int32(c.slot.to / 60), Minutes: int32(c.slot.to % 60)}}}
			lat, lng := v.Home.LatLng.Latitude, v.Home.LatLng.Longitude
			if why := refReason(one, r, ApproxMetres(baseLat, baseLng, lat, lng), now, minVet, nil); why != "" {
				fails++
				t.Errorf("trial %d %s: %q names a slot when they are not free (%s)", trial, v.Name, c.Explain(), why)
			}
		}
		gotCounts := map[Reason]int{}
		for _, x := range res.Exclusions {
			gotCounts[x.Reason] += x.Count
		}
		if len(res.Candidates) < 20 && fmt.Sprint(gotCounts) != fmt.Sprint(wantCounts) {
			fails++
			t.Errorf("trial %d counts %v want %v", trial, gotCounts, wantCounts)
		}
	}
}
