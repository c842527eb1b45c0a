package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// tagMixVolunteer varies everything the tag packs, including what it
// cannot hold (skills interned past its bits, a second time zone, uneven
// slots, away dates, expiring checks, reaches between its classes).
func tagMixVolunteer(i int, rng *rand.Rand) *pb.Volunteer {
	return vol(fmt.Sprintf("v%04d", i), rng.Float64()*6000-3000, rng.Float64()*6000-3000, func(v *pb.Volunteer) {
		v.Paused = rng.IntN(10) == 0
		v.Home.Postcode = []string{"AB10 1AB", "AB10 1AF", "", "AB11 5QN"}[rng.IntN(4)]
		v.Home.Street = []string{"Union Street", "Correction Wynd", ""}[rng.IntN(3)]
		v.Capacity = int32(rng.IntN(3))
		v.ActiveAssignments = int32(rng.IntN(2))
		v.MaxDistanceMetres = []int32{0, 300, 500, 1200, 1500, 3000, 4000, 5000, 8000, 15000}[rng.IntN(10)]
		v.Skills = nil
		for _, s := range []string{"driver", "welsh", "dog-friendly", "bsl", "gaelic", "polish"} {
			if rng.IntN(3) == 0 {
				v.Skills = append(v.Skills, s)
			}
		}
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DbsLevel(rng.IntN(4))}
		if rng.IntN(4) == 0 {
			v.Vetting.ExpireDate = &pb.Date{Year: 2026, Month: 12, Day: int32(1 + rng.IntN(3))}
		}
		v.Availability = &pb.Availability{TimeZone: []string{"Europe/London", "Europe/London", "Europe/London", "America/New_York"}[rng.IntN(4)]}
		for d := range 7 {
			if rng.IntN(2) == 0 {
				from := int32(rng.IntN(22))
				end := &pb.TimeOfDay{Hours: min(24, from+1+int32(rng.IntN(8)))}
				if rng.IntN(5) == 0 && end.Hours < 24 {
					end.Minutes = 30
				}
				v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: pb.DayOfWeek(d + 1), StartTime: &pb.TimeOfDay{Hours: from}, EndTime: end})
			}
		}
		if rng.IntN(8) == 0 {
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 11, Day: 30}, EndDate: &pb.Date{Year: 2026, Month: 12, Day: int32(1 + rng.IntN(4))}}}
		}
	})
}

func tagMixRequest(rng *rand.Rand) *pb.HelpRequest {
	return req(func(r *pb.HelpRequest) {
		r.Needs = []pb.Need{[]pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_TRANSPORT, pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_FOOD_PARCEL}[rng.IntN(4)]}
		r.EntersHome = rng.IntN(4) == 0
		r.RemoteOk = rng.IntN(8) == 0
		switch rng.IntN(6) {
		case 0:
			r.RequiredSkills = []string{"welsh"}
		case 1:
			r.RequiredSkills = []string{"polish", "driver"} // one past the tag's bits
		case 2:
			r.RequiredSkills = []string{"klingon"} // nobody has it
		}
		if rng.IntN(5) == 0 {
			r.DeclinedVolunteers = []string{fmt.Sprintf("volunteers/v%04d", rng.IntN(300))}
		}
		start := monday.Add(time.Duration(rng.IntN(7*24*4)) * 15 * time.Minute)
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(40)) * time.Hour))}}
	})
}

// TestTagVerdictIsTheRules: whenever a tag settles a volunteer, it says
// what the full rules say, reason and detail alike; and it settles most.
func TestTagVerdictIsTheRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var vs []*pb.Volunteer
	for i := range 300 {
		vs = append(vs, tagMixVolunteer(i, rng))
	}
	e := engineWith(t, vs...)
	e.freshGrid()
	decided, rejected := 0, 0
	byReason := map[reasonCode]int{}
	for range 200 {
		r := tagMixRequest(rng)
		q, err := e.prepare(r, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		for id := range e.vols {
			v := &e.vols[id]
			metres := ApproxMetres(q.lat, q.lng, v.lat, v.lng)
			_, _, _, tag := gridEntryOf(t, e.grid, uint32(id))
			ok, why, det, _ := e.check(q, uint32(id), metres)
			if !ok {
				rejected++
			}
			d, twhy, tdet := q.tagVerdict(uint32(id), tag, metres)
			if !d {
				continue
			}
			decided++
			byReason[twhy]++
			if ok || twhy != why || q.detail(twhy, tdet) != q.detail(why, det) {
				t.Fatalf("%s for %v: tag says %v %q, rules say ok=%v %v %q",
					v.name, r, reasonOfCode[twhy], q.detail(twhy, tdet), ok, reasonOfCode[why], q.detail(why, det))
			}
		}
	}
	if decided < rejected/2 {
		t.Errorf("the tag settled %d of %d rejections", decided, rejected)
	}
	for why := range numReasons {
		if why != rAway && byReason[why] == 0 {
			t.Errorf("the tag never settled %v: the mix does not test it", reasonOfCode[why])
		}
	}
}

// gridEntryOf returns point id's entry as the grid stores it.
func gridEntryOf(t *testing.T, g *Grid, id uint32) (lat, lng int32, found bool, tag uint32) {
	t.Helper()
	sl := g.slots[id]
	if sl.bc == 0 {
		t.Fatalf("id %d not in the grid", id)
	}
	en := g.blocks[sl.bc>>8].entries(sl.bc & 0xff)[sl.pos]
	if en.id != id {
		t.Fatalf("slot of %d holds %d", id, en.id)
	}
	return en.lat, en.lng, true, en.tag
}

// TestGridTagsFollowUpdates: after updates, removals and Compact, every
// volunteer's tag in the grid is the one its packed record gives.
func TestGridTagsFollowUpdates(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	e := NewEngine(DefaultConfig())
	for i := range 500 {
		v := tagMixVolunteer(i%200, rng) // the same names again: updates
		v.Etag = fmt.Sprint(i)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		if i%17 == 0 {
			e.RemoveVolunteer(fmt.Sprintf("volunteers/v%04d", rng.IntN(200)))
		}
	}
	checkTags := func(when string) {
		e.freshGrid()
		for i := range e.vols {
			id := uint32(i)
			if !e.vols[id].live {
				continue
			}
			if _, _, _, tag := gridEntryOf(t, e.grid, id); tag != volunteerTag(&e.hot[id]) {
				t.Fatalf("%s: %s has tag %#x, its record gives %#x", when, e.vols[id].name, tag, volunteerTag(&e.hot[id]))
			}
		}
	}
	checkTags("after updates")
	e.Compact()
	checkTags("after Compact")
}

// TestNearestTaggedReject: a tag-only filter gives the same neighbours as
// the full one, is asked only about points within maxMetres, and, while
// fewer than k are found, together with the full filter is asked about
// each such point exactly once.
func TestNearestTaggedReject(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	g := NewGrid(100)
	var pts [][2]float64
	for i := range 3000 {
		p := [2]float64{57.15 + (rng.Float64()-0.5)*0.05, -2.1 + (rng.Float64()-0.5)*0.08}
		pts = append(pts, p)
		g.upsert(uint32(i), p[0], p[1], uint32(rng.IntN(4))) // tag 0: wanted
	}
	for qi := range 200 {
		lat, lng := 57.15+(rng.Float64()-0.5)*0.06, -2.1+(rng.Float64()-0.5)*0.09
		maxMetres := []float64{200, 800, 1500, 4000}[qi%4]
		k := []int{1, 20, 5000}[qi%3]
		tagOf := func(id uint32) uint32 {
			_, _, _, tag := gridEntryOf(t, g, id)
			return tag
		}
		asked := map[uint32]int{}
		accept := func(id, tag uint32, m float64) bool {
			asked[id]++
			return tag == 0
		}
		rejected := 0
		reject := func(id, tag uint32, hiDegSq float64) bool {
			plat, plng, _ := g.Position(id) // as the grid measures
			if d := ApproxMetres(lat, lng, plat, plng); d > maxMetres || d > gridMetresPerDeg*math.Sqrt(hiDegSq) {
				t.Fatalf("reject asked about %d at %v m, beyond %v or its bound %v", id, d, maxMetres, gridMetresPerDeg*math.Sqrt(hiDegSq))
			}
			if tag != 0 {
				asked[id]++
				rejected++
				return true
			}
			return false
		}
		got := g.nearestTagged(nil, lat, lng, k, maxMetres, accept, reject, nil)
		want := g.Nearest(nil, lat, lng, k, maxMetres, func(id uint32, _ float64) bool { return tagOf(id) == 0 })
		if !slices.Equal(got, want) {
			t.Fatalf("query %d: tagged %v, plain %v", qi, got, want)
		}
		if len(got) < k {
			in := 0
			for id, p := range pts {
				if ApproxMetres(lat, lng, p[0], p[1]) <= maxMetres {
					in++
					if asked[uint32(id)] != 1 {
						t.Fatalf("query %d: point %d in reach asked %d times", qi, id, asked[uint32(id)])
					}
				}
			}
			if in != len(asked) {
				t.Fatalf("query %d: %d asked, %d in reach", qi, len(asked), in)
			}
			if in > 50 && rejected == 0 {
				t.Fatalf("query %d: the tag-only filter was never used", qi)
			}
		}
	}
}
