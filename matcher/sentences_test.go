package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestSentencesAgainstTheData reads every sentence FindCandidates gives
// helpline staff, for random volunteers and requests, and checks each
// claim in it against the same data read the slow way: the distance and
// its rounding, "same street" and "same postcode", the skills named, the
// weekly slot named (a slot of theirs, on a day and at hours of their own
// clock when they are free and not away, with their zone named when it is
// not the UK's), helping before and recent jobs; and, when fewer were found
// than asked for, that the counts by reason are those of everyone in reach
// who was left out, and the reach named is the request's.
func TestSentencesAgainstTheData(t *testing.T) {
	zones := []string{"Europe/London", "Europe/London", "Europe/London", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "Australia/Lord_Howe", "Etc/GMT+5"}
	streets := []struct{ street, postcode string }{
		{"Union Street", "AB10 1AB"}, {"union st", "AB10 1AB"}, {"Union Street", "AB10 1AF"}, {"Correction Wynd", "AB10 1AB"},
		{"Union Street", "AB11 5AA"}, {"", "AB10 1AB"}, {"Holburn Street", "AB10 6BT"},
	}
	skillPool := []string{"driver", "welsh", "dog-friendly", "befriender", "gaelic"}
	bases := []time.Time{
		time.Date(2026, 3, 28, 20, 0, 0, 0, time.UTC),  // the clocks go forward in the UK on Sunday 29 March
		time.Date(2026, 10, 24, 20, 0, 0, 0, time.UTC), // and back on Sunday 25 October
		time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC), // New York's clocks go back
	}
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(15, 3))
	fails := 0
	fail := func(format string, args ...any) {
		t.Helper()
		fails++
		t.Errorf(format, args...)
	}
	date := func(t time.Time) *pb.Date {
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	for trial := 0; trial < 400 && fails < 10; trial++ {
		base := bases[rng.IntN(len(bases))].Add(time.Duration(rng.IntN(36*60)) * time.Minute)
		dur := time.Duration(30+rng.IntN(4*24*60)) * time.Minute
		now := base.Add(-time.Duration(rng.IntN(600)) * time.Minute)
		var previous []string
		var vs []*pb.Volunteer
		for i := 0; i < 16; i++ {
			place := streets[rng.IntN(len(streets))]
			v := vol(fmt.Sprintf("v%02d", i), float64(rng.IntN(4000)-1000), float64(rng.IntN(3000)-1000), func(v *pb.Volunteer) {
				v.Home.Street, v.Home.Postcode = place.street, place.postcode
				v.MaxDistanceMetres = int32(500 + rng.IntN(9000))
				v.Availability.TimeZone = zones[rng.IntN(len(zones))]
				v.Availability.Weekly = nil
				for n := 1 + rng.IntN(4); n > 0; n-- {
					from := int32(rng.IntN(24*2)) * 30
					to := min(from+int32(30+rng.IntN(16)*30), 1440)
					v.Availability.Weekly = append(v.Availability.Weekly, slotOn(pb.DayOfWeek(1+rng.IntN(7)), from/60, from%60, to/60, to%60))
				}
				if rng.IntN(3) == 0 {
					d := base.AddDate(0, 0, rng.IntN(5)-2)
					v.Availability.Away = []*pb.DateRange{{StartDate: date(d), EndDate: date(d.AddDate(0, 0, rng.IntN(3)))}}
				}
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DbsLevel(1 + rng.IntN(3))}
				if rng.IntN(2) == 0 {
					v.Vetting.ExpireDate = date(base.AddDate(0, 0, rng.IntN(5)-2))
				}
				for _, s := range skillPool {
					if rng.IntN(2) == 0 {
						v.Skills = append(v.Skills, s)
					}
				}
				if rng.IntN(8) == 0 {
					// More skills than the packed tag holds.
					for k := 0; k < 70; k++ {
						v.Skills = append(v.Skills, "skill-"+strconv.Itoa(k))
					}
				}
				v.Capacity = int32(1 + rng.IntN(3))
				v.ActiveAssignments = int32(rng.IntN(3))
				v.Paused = rng.IntN(12) == 0
				for n := rng.IntN(3); n > 0; n-- {
					v.RecentAssignmentTimes = append(v.RecentAssignmentTimes, timestamppb.New(now.Add(-time.Duration(rng.IntN(10*24))*time.Hour)))
				}
			})
			if rng.IntN(6) == 0 {
				previous = append(previous, v.Name)
			}
			vs = append(vs, v)
		}
		e := engineWith(t, vs...)
		r := req(win(base, base.Add(dur)), func(r *pb.HelpRequest) {
			switch rng.IntN(5) {
			case 0:
				r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT}
			case 3:
				// Two needs at the least reach, both holding it there.
				r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT, pb.Need_NEED_PRESCRIPTION_COLLECTION, pb.Need_NEED_GROCERY_SHOPPING}
			case 1:
				r.Needs = []pb.Need{pb.Need_NEED_FOOD_PARCEL, pb.Need_NEED_GROCERY_SHOPPING}
			case 2:
				r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}
				r.RemoteOk = rng.IntN(2) == 0
			}
			r.EntersHome = !r.RemoteOk && rng.IntN(4) == 0
			if rng.IntN(3) == 0 {
				r.RequiredSkills = []string{skillPool[rng.IntN(len(skillPool))], "skill-" + strconv.Itoa(rng.IntN(80))}
			}
		})
		// What the request demands, read from the config.
		reach, minVet := math.Inf(1), pb.Vetting_DBS_LEVEL_NONE
		var skills []string
		var farNeed pb.Need // the need that reaches farthest
		far := 0.0
		for _, n := range r.Needs {
			rule := cfg.Needs[n]
			if rule.MaxMetres > far {
				farNeed, far = n, rule.MaxMetres
			}
			reach = math.Min(reach, rule.MaxMetres)
			minVet = max(minVet, rule.MinVetting)
			for _, s := range rule.Skills {
				if !slices.Contains(skills, s) {
					skills = append(skills, s)
				}
			}
		}
		for _, s := range r.RequiredSkills {
			if !slices.Contains(skills, s) {
				skills = append(skills, s)
			}
		}
		if r.EntersHome {
			minVet = max(minVet, cfg.EntersHomeVetting)
		}
		remote := Remote(r)
		k := 1 + rng.IntN(20)
		res, err := e.FindCandidates(r, previous, k, now)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*pb.Volunteer{}
		for _, v := range vs {
			byName[v.Name] = v
		}
		reqLL := r.Location.LatLng
		metresTo := func(v *pb.Volunteer) float64 {
			return geo.DistanceMetres(reqLL.Latitude, reqLL.Longitude, v.Home.LatLng.Latitude, v.Home.LatLng.Longitude)
		}
		for _, c := range res.Candidates {
			v := byName[c.Volunteer]
			s := c.Explain()
			what := fmt.Sprintf("trial %d %s (%s, %s, %s): %q", trial, v.Name, v.Availability.TimeZone, v.Home.Street, v.Home.Postcode, s)
			m := metresTo(v)
			parts := strings.Split(s, ", ")
			if got := parts[0]; got != distanceText(m) && got != distanceText(m-1) && got != distanceText(m+1) {
				fail("%s: says %s, lives %.0f m away", what, got, m)
			}
			sameStreet := geo.StreetKey(v.Home.Street) != "" && geo.StreetKey(v.Home.Street) == geo.StreetKey(r.Location.Street) && sector(v.Home.Postcode) == sector(r.Location.Postcode)
			samePostcode := v.Home.Postcode == r.Location.Postcode
			if got := slices.Contains(parts, "same street"); got != sameStreet {
				fail("%s: same street %v, but the streets are %q and %q", what, got, v.Home.Street, r.Location.Street)
			}
			if got := slices.Contains(parts, "same postcode"); got != (samePostcode && !sameStreet) {
				fail("%s: same postcode %v, but the postcodes are %q and %q", what, got, v.Home.Postcode, r.Location.Postcode)
			}
			if len(skills) > 0 && !strings.Contains(s, ", has "+strings.Join(skills, ", ")) {
				fail("%s: does not say they have %v", what, skills)
			}
			for _, sk := range skills {
				if !slices.Contains(v.Skills, sk) {
					fail("%s: says they have %s", what, sk)
				}
			}
			if got := slices.Contains(parts, "helped this person before"); got != slices.Contains(previous, v.Name) {
				fail("%s: helped before %v", what, got)
			}
			recent := 0
			for _, ts := range v.RecentAssignmentTimes {
				if ts.AsTime().After(now.Add(-cfg.FairnessWindow)) {
					recent++
				}
			}
			jobs := ""
			switch recent {
			case 0:
			case 1:
				jobs = "1 job in the last 7 days"
			default:
				jobs = strconv.Itoa(recent) + " jobs in the last 7 days"
			}
			if (jobs == "") != !strings.Contains(s, " in the last ") || jobs != "" && !slices.Contains(parts, jobs) {
				fail("%s: want %q for %d recent jobs", what, jobs, recent)
			}
			checkSlot(t, &fails, what, s, v, r, now, minVet)
		}
		// One volunteer judged alone, as for an offer made by hand, is told
		// of in words that hold: a distance "beyond" a limit reads as more
		// than it, once both are rounded as said.
		for _, v := range vs {
			ok, x, err := e.Eligible(r, previous, v.Name, now)
			if err != nil || ok {
				continue
			}
			m := metresTo(v)
			limit := float64(v.MaxDistanceMetres)
			if x.OutOfReach {
				limit = reach
			}
			if x.Reason != TooFar {
				continue
			}
			said, _, _ := strings.Cut(strings.TrimPrefix(x.Why(), "they live "), " away")
			if strings.HasPrefix(said, "just beyond") {
				if m <= limit || math.Abs(m-limit) > 100 {
					fail("trial %d %s: %q, lives %.0f m away, limit %.0f m", trial, v.Name, x.Why(), m, limit)
				}
				continue
			}
			if said != distanceWords(m) || !strings.Contains(x.Why(), "beyond the "+distanceWords(limit)+" ") || said == distanceWords(limit) {
				fail("trial %d %s: %q, lives %.0f m away, limit %.0f m", trial, v.Name, x.Why(), m, limit)
			}
		}
		if !res.Short {
			continue
		}
		// Everyone in reach who is not a candidate is counted, once, by the
		// first rule they fail.
		radius := reach
		if remote {
			radius = 50000
		}
		want := map[Reason]int{}
		for _, v := range vs {
			if metresTo(v) > radius || slices.ContainsFunc(res.Candidates, func(c Candidate) bool { return c.Volunteer == v.Name }) {
				continue
			}
			m := metresTo(v)
			if remote {
				m = 0
			}
			why := refReason(v, r, m, now, minVet, skills)
			if why == "" {
				fail("trial %d: %s is eligible but not a candidate", trial, v.Name)
				continue
			}
			want[why]++
		}
		got := map[Reason]int{}
		for _, x := range res.Exclusions {
			got[x.Reason] += x.Count
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			fail("trial %d: %q counts %v, want %v", trial, res.Summary(), got, want)
		}
		if len(res.Exclusions) == 0 && !remote {
			within := " within " + distanceWords(reach)
			if far > reach {
				// Which needs hold it there, every one of them, when
				// another reaches farther.
				words := func(n pb.Need) string {
					if n == pb.Need_NEED_OTHER {
						return "other help"
					}
					return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(n.String(), "NEED_")), "_", " ")
				}
				var held []string // in the needs' order, as the proto numbers them
				for n := pb.Need(0); int(n) < len(pb.Need_name); n++ {
					if slices.Contains(r.Needs, n) && cfg.Needs[n].MaxMetres == reach {
						held = append(held, words(n))
					}
				}
				verb := " reach ("
				if len(held) == 1 && held[0] != "errands" {
					verb = " reaches ("
				}
				farVerb := " reaches "
				if farNeed == pb.Need_NEED_ERRANDS {
					farVerb = " reach "
				}
				list := held[len(held)-1]
				if len(held) > 1 {
					list = strings.Join(held[:len(held)-1], ", ") + " and " + list
				}
				within += ", as far as its " + list + verb + words(farNeed) + farVerb + distanceWords(far) + ")"
			}
			if !strings.HasSuffix(res.Summary(), within) {
				fail("trial %d: %q, reach %v", trial, res.Summary(), reach)
			}
		}
	}
}

// distanceText is a distance as Explain opens with it, worked out apart.
func distanceText(m float64) string {
	switch {
	case m < 5:
		return "under 10 m"
	case m < 995:
		return fmt.Sprintf("%.0f m", math.Round(m/10)*10)
	}
	return fmt.Sprintf("%.1f km", m/1000)
}

// checkSlot checks the "free Tue 10:00-12:00[ Tokyo time]" of sentence s:
// a slot of v's, on their own clock, at some minute of r's window (from
// now on) on a day they are not away and, if r needs a check, one their
// check still covers; and their zone is named exactly when it is not the
// UK's.
func checkSlot(t *testing.T, fails *int, what, s string, v *pb.Volunteer, r *pb.HelpRequest, now time.Time, minVet pb.Vetting_DbsLevel) {
	t.Helper()
	i := strings.Index(s, ", free ")
	if i < 0 {
		*fails++
		t.Errorf("%s: names no time they are free", what)
		return
	}
	rest := s[i+len(", free "):]
	if j := strings.Index(rest, ", "); j >= 0 {
		rest = rest[:j]
	}
	var day string
	var fh, fm, th, tm int
	if _, err := fmt.Sscanf(rest, "%3s %d:%d-%d:%d", &day, &fh, &fm, &th, &tm); err != nil {
		*fails++
		t.Errorf("%s: %q: %v", what, rest, err)
		return
	}
	zone := strings.TrimSpace(rest[len(fmt.Sprintf("%s %02d:%02d-%02d:%02d", day, fh, fm, th, tm)):])
	wantZone := ""
	if v.Availability.TimeZone != "Europe/London" {
		wantZone = zoneWords(v.Availability.TimeZone) + " time"
	}
	if zone != wantZone {
		*fails++
		t.Errorf("%s: zone %q, want %q", what, zone, wantZone)
	}
	wd := slices.Index(weekdayShort[:], day)
	from, to := int32(fh*60+fm), int32(th*60+tm)
	if !slices.ContainsFunc(v.Availability.Weekly, func(sl *pb.AvailabilitySlot) bool {
		return int(sl.Day%7) == wd && sl.StartTime.Hours*60+sl.StartTime.Minutes == from && sl.EndTime.Hours*60+sl.EndTime.Minutes == to
	}) {
		*fails++
		t.Errorf("%s: names a slot they do not have", what)
		return
	}
	one := &pb.Volunteer{Name: v.Name, MaxDistanceMetres: v.MaxDistanceMetres, Capacity: 1, Vetting: v.Vetting,
		Availability: &pb.Availability{TimeZone: v.Availability.TimeZone, Away: v.Availability.Away,
			Weekly: []*pb.AvailabilitySlot{slotOn(pb.DayOfWeek((wd+6)%7+1), from/60, from%60, to/60, to%60)}}}
	if why := refReason(one, r, 0, now, minVet, nil); why != "" {
		*fails++
		t.Errorf("%s: in the slot named they are %s", what, why)
	}
}
