package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// randomAway is away dates around base as a volunteer might give them:
// none, one range, ranges that touch or overlap (one span of days), ranges
// with a gap, an inverted range, or one far ahead.
func randomAway(rng *rand.Rand, base time.Time) []*pb.DateRange {
	date := func(t time.Time) *pb.Date {
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	rangeAt := func(from, days int) *pb.DateRange {
		d := base.AddDate(0, 0, from)
		return &pb.DateRange{StartDate: date(d), EndDate: date(d.AddDate(0, 0, days))}
	}
	var out []*pb.DateRange
	switch rng.IntN(8) {
	case 0, 1:
		return nil
	case 2:
		out = append(out, rangeAt(rng.IntN(5)-2, rng.IntN(3)))
	case 3: // touching: one span
		a := rng.IntN(5) - 3
		out = append(out, rangeAt(a, 0), rangeAt(a+1, rng.IntN(2)))
	case 4: // overlapping, in either order
		a := rng.IntN(5) - 3
		out = append(out, rangeAt(a+1, 2), rangeAt(a, 1))
	case 5: // a gap of a day or two
		a := rng.IntN(5) - 3
		out = append(out, rangeAt(a, 0), rangeAt(a+2+rng.IntN(2), rng.IntN(2)))
	case 6: // an inverted range beside a real one
		a := rng.IntN(5) - 2
		out = append(out, rangeAt(a, -2), rangeAt(a-1, rng.IntN(2)))
	case 7: // far ahead, or long
		out = append(out, rangeAt(200+rng.IntN(3000), rng.IntN(400)), rangeAt(rng.IntN(3)-1, rng.IntN(2)))
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestAwayDatesAgainstReference: away dates of every shape (one span,
// touching or overlapping ranges, ranges with gaps, inverted, far ahead),
// in several time zones, changed by later writes from one shape to
// another and to none, through UpsertVolunteer and DecodeVolunteer, and
// after Compact, give the verdicts refReason gives: FindCandidates (with
// a small k, so that a search judges points by their tags once it has k,
// and a large one), Eligible and the exclusion counts.
func TestAwayDatesAgainstReference(t *testing.T) {
	zones := []string{"Europe/London", "Europe/London", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago"}
	bases := []time.Time{
		time.Date(2026, 3, 28, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 24, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(71, 72))
	fails := 0
	for trial := 0; trial < 60 && fails < 10; trial++ {
		base := bases[rng.IntN(len(bases))].Add(time.Duration(rng.IntN(48*60)) * time.Minute)
		now := base.Add(-time.Duration(rng.IntN(300)) * time.Minute)
		vs := map[string]*pb.Volunteer{}
		var order []string
		e := NewEngine(DefaultConfig())
		rev := 0
		write := func(v *pb.Volunteer) {
			rev++
			v.Etag = strconv.Itoa(rev)
			if rng.IntN(2) == 0 {
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
			} else {
				rec := proto.Clone(v).(*pb.Volunteer)
				rec.Contact = nil
				b, err := proto.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				var in Volunteer
				if err := DecodeVolunteer(b, v.Contact, &in); err != nil {
					t.Fatal(err)
				}
				if err := e.Upsert(&in); err != nil {
					t.Fatal(err)
				}
			}
			vs[v.Name] = v
		}
		for i := range 150 {
			// Within the request's 1.5 km.
			dist, angle := 1400*math.Sqrt(rng.Float64()), 2*math.Pi*rng.Float64()
			v := vol(fmt.Sprintf("v%03d", i), dist*math.Cos(angle), dist*math.Sin(angle), func(v *pb.Volunteer) {
				v.Availability.TimeZone = zones[rng.IntN(len(zones))]
				v.Availability.Weekly = nil
				for n := 1 + rng.IntN(4); n > 0; n-- {
					from := int32(rng.IntN(24)) * 60
					to := min(from+int32(60+rng.IntN(8)*60), 1440)
					v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: pb.DayOfWeek(1 + rng.IntN(7)), StartTime: &pb.TimeOfDay{Hours: from / 60}, EndTime: &pb.TimeOfDay{Hours: to / 60, Minutes: to % 60}})
				}
				v.Availability.Away = randomAway(rng, base)
				v.MaxDistanceMetres = 4000
				v.Capacity = 2
			})
			order = append(order, v.Name)
			write(v)
		}
		// Later writes change the away dates: one span to two, two to
		// one, either to none.
		for range 300 {
			v := proto.Clone(vs[order[rng.IntN(len(order))]]).(*pb.Volunteer)
			v.Availability.Away = randomAway(rng, base)
			write(v)
		}
		if trial%2 == 1 {
			e.Compact()
		}
		for range 4 {
			dur := time.Duration(10+rng.IntN(3*24*60)) * time.Minute
			start := base.Add(time.Duration(rng.IntN(4*24*60)-24*60) * time.Minute)
			r := req(win(start, start.Add(dur)))
			if !start.Add(dur).After(now) {
				continue
			}
			want := map[string]Reason{}
			wantCounts := map[Reason]int{}
			eligible := 0
			for _, name := range order {
				v := vs[name]
				lat, lng := v.Home.LatLng.Latitude, v.Home.LatLng.Longitude
				w := refReason(v, r, ApproxMetres(baseLat, baseLng, lat, lng), now, pb.Vetting_DBS_LEVEL_NONE, nil)
				want[name] = w
				if w == "" {
					eligible++
				} else {
					wantCounts[w]++
				}
				ok, why, err := e.Eligible(r, nil, name, now)
				if err != nil {
					t.Fatal(err)
				}
				if (w == "") != ok || !ok && why.Reason != w {
					fails++
					t.Errorf("trial %d %s zone %s window %v-%v now %v: want %q, Eligible %v %v\naway %v", trial, name, v.Availability.TimeZone, start, start.Add(dur), now, w, ok, why, v.Availability.Away)
				}
			}
			for _, k := range []int{3, len(order) + 1} {
				res, err := e.FindCandidates(r, nil, k, now)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Candidates) != min(k, eligible) {
					fails++
					t.Errorf("trial %d k=%d: %d candidates, want %d", trial, k, len(res.Candidates), min(k, eligible))
				}
				for _, c := range res.Candidates {
					if want[c.Volunteer] != "" {
						fails++
						t.Errorf("trial %d k=%d: %s found, want %q (away %v)", trial, k, c.Volunteer, want[c.Volunteer], vs[c.Volunteer].Availability.Away)
					}
				}
				if len(res.Candidates) < k {
					got := map[Reason]int{}
					for _, x := range res.Exclusions {
						got[x.Reason] += x.Count
					}
					if fmt.Sprint(got) != fmt.Sprint(wantCounts) {
						fails++
						t.Errorf("trial %d: counts %v, want %v", trial, got, wantCounts)
					}
				}
			}
		}
	}
}
