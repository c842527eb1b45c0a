package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// tagMixEngine is an engine holding volunteers 0..n-1 of tagMixVolunteer,
// volunteer i written at revision i+1, and the write that fills it, for
// tests that go on to update and remove: write(i, rev) stores version rev
// of volunteer i.
func tagMixEngine(t *testing.T, n int) (*Engine, func(i, rev int)) {
	t.Helper()
	e := NewEngine(DefaultConfig())
	write := func(i, rev int) {
		v := tagMixVolunteer(i, rand.New(rand.NewPCG(uint64(i), uint64(rev))))
		v.Etag = fmt.Sprint(rev)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		write(i, i+1)
	}
	return e, write
}

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
		for range []int{0, 0, 0, 0, 1, 2}[rng.IntN(6)] { // jobs held, some with little room
			start := monday.Add(time.Duration(rng.IntN(7*24*4)) * 15 * time.Minute)
			v.Commitments = append(v.Commitments, &pb.Commitment{
				HelpRequest: fmt.Sprintf("helpRequests/held%d", rng.IntN(1000)),
				Window:      &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Duration(1+rng.IntN(6)) * time.Hour))},
				Needs:       []pb.Need{pb.Need_NEED_TRANSPORT},
			})
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
					e.nameOf(uint32(id)), r, reasonOfCode[twhy], q.detail(twhy, tdet), ok, reasonOfCode[why], q.detail(why, det))
			}
		}
	}
	if decided < rejected/2 {
		t.Errorf("the tag settled %d of %d rejections", decided, rejected)
	}
	for why := range numReasons {
		if why != rAway && why != rBusy && byReason[why] == 0 { // the full record settles those
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
				t.Fatalf("%s: %s has tag %#x, its record gives %#x", when, e.nameOf(id), tag, volunteerTag(&e.hot[id]))
			}
		}
	}
	checkTags("after updates")
	e.Compact()
	checkTags("after Compact")
}

// TestNearestTaggedTagRejects: a search that turns points away by their
// tags (query.tagRejects, or its tables once a search is long) finds
// exactly what one asking the rules about every point does, and the tags
// turn away only volunteers the rules would, whatever their distance.
func TestNearestTaggedTagRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	e := NewEngine(DefaultConfig())
	for n := range 1500 {
		if err := e.UpsertVolunteer(tagMixVolunteer(n, rand.New(rand.NewPCG(uint64(n), 1)))); err != nil {
			t.Fatal(err)
		}
	}
	e.freshGrid()
	rejected := 0
	for qi := range 300 {
		r := tagMixRequest(rng)
		r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*6000-3000, rng.Float64()*6000-3000)
		q, err := e.prepare(r, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		cosMin := gridCosBound(q.lat, q.maxMetres)
		for id := range e.vols {
			if !e.vols[id].live {
				continue
			}
			_, _, _, tag := gridEntryOf(t, e.grid, uint32(id))
			plat, plng, _ := e.grid.Position(uint32(id))
			dlat, dlng := plat-q.lat, plng-q.lng
			xl := dlng * cosMin
			if !q.tagRejects(uint32(id), tag, dlat*dlat+xl*xl) {
				continue
			}
			rejected++
			d := ApproxMetres(q.lat, q.lng, plat, plng)
			if ok, _, _, _ := e.check(q, uint32(id), d); ok && (q.remote || d <= q.maxMetres) {
				t.Fatalf("query %d: %s turned away by its tag %#x, but eligible at %v m", qi, e.nameOf(uint32(id)), tag, d)
			}
		}
		k := []int{1, 20, 5000}[qi%3]
		got, _ := e.grid.nearestTagged(nil, q.lat, q.lng, k, q.maxMetres, q, 0, k)
		want := e.grid.Nearest(nil, q.lat, q.lng, k, q.maxMetres, func(id uint32, m float64) bool {
			ok, _, _, _ := e.check(q, id, m)
			return ok
		})
		if !slices.Equal(got, want) {
			t.Fatalf("query %d: tagged %v, plain %v", qi, got, want)
		}
	}
	if rejected == 0 {
		t.Fatal("no tag turned anyone away")
	}
}

// TestTagTableMatchesTagRules: the tables give tagRules' verdict for
// every tag, whatever the query asks.
func TestTagTableMatchesTagRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	e := NewEngine(DefaultConfig())
	for n := range 300 {
		if err := e.UpsertVolunteer(tagMixVolunteer(n, rand.New(rand.NewPCG(uint64(n), 3)))); err != nil {
			t.Fatal(err)
		}
	}
	e.freshGrid()
	usable := 0
	for range 300 {
		r := tagMixRequest(rng)
		q, err := e.prepare(r, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		tt := q.table()
		if !tt.usable {
			if len(q.declined) == 0 {
				t.Fatal("table refused a query without declined volunteers")
			}
			continue
		}
		usable++
		for range 3000 {
			tag := rng.Uint32()
			wd, ww, wdet := q.tagRules(1<<30, tag)
			gd, gw, gdet := tt.rules(q, tag)
			if gd != wd || (wd && (gw != ww || gdet != wdet)) {
				t.Fatalf("%v tag %#x: table says %v %v %v, tagRules %v %v %v", r.Needs, tag, gd, gw, gdet, wd, ww, wdet)
			}
		}
	}
	if usable < 100 {
		t.Fatalf("only %d queries could use the table", usable)
	}
}
