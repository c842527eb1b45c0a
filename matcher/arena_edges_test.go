package matcher

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerTextAtLengthBounds: a display name of 0 or 1 bytes, a name
// or display name of 65,534 bytes (the longest a 16-bit length holds),
// 65,535 (which marks a long text) or 65,536, or either not UTF-8, comes
// back as written from a search and by name, through an update that keeps
// the display name, one that changes it across the bound, Compact, and a
// removal whose id a newcomer takes.
func TestVolunteerTextAtLengthBounds(t *testing.T) {
	sized := func(prefix string, n int) string {
		return prefix + strings.Repeat("é", (n-len(prefix))/2) + strings.Repeat("z", (n-len(prefix))%2)
	}
	type text struct{ name, shown string }
	var cases []text
	for _, nl := range []int{0, 65534, 65535, 65536} {
		for _, sl := range []int{0, 1, 65534, 65535, 65536} {
			name := "volunteers/a"
			if nl > 0 {
				name = sized(name, nl)
			}
			cases = append(cases, text{name, sized("", sl)})
		}
	}
	cases = append(cases, text{"volunteers/\xff\xfe", "Ma\xc3ri \xe2\x82"}, text{"volunteers/b", "\x00\x00"})
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%d", len(c.name), len(c.shown)), func(t *testing.T) {
			e := NewEngine(DefaultConfig())
			// Neighbours whose texts lie on either side in the arena.
			for j := range 3 {
				if err := e.UpsertVolunteer(vol(fmt.Sprintf("n%d", j), 100, float64(100*j))); err != nil {
					t.Fatal(err)
				}
			}
			upsert := func(shown string) {
				t.Helper()
				v := vol("x", 0, 0)
				v.Name, v.Contact.DisplayName = c.name, shown
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
				if err := e.UpsertVolunteer(vol("n9", 200, 0)); err != nil {
					t.Fatal(err)
				}
			}
			var held []Candidate
			check := func(stage, shown string) {
				t.Helper()
				res, err := e.FindCandidates(req(), nil, 10, monday)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, cd := range res.Candidates {
					if cd.Volunteer == c.name {
						found = true
						if cd.DisplayName != shown {
							t.Errorf("%s: display name of %d bytes, want %d", stage, len(cd.DisplayName), len(shown))
						}
						held = append(held, cd)
					} else if !strings.HasPrefix(cd.Volunteer, "volunteers/n") || cd.DisplayName != "N"+strings.TrimPrefix(cd.Volunteer, "volunteers/n") {
						t.Errorf("%s: neighbour %.30q shown as %.30q", stage, cd.Volunteer, cd.DisplayName)
					}
				}
				if !found {
					t.Errorf("%s: not among %d candidates", stage, len(res.Candidates))
				}
				if ok, _, err := e.Eligible(req(), nil, c.name, monday); !ok || err != nil {
					t.Errorf("%s: Eligible by name: %v %v", stage, ok, err)
				}
			}
			upsert(c.shown)
			check("added", c.shown)
			upsert(c.shown)
			check("updated, display kept", c.shown)
			other := sized("", 65535+1-len(c.shown)%65535)
			upsert(other)
			check("display changed", other)
			e.Compact()
			check("compacted", other)
			e.RemoveVolunteer(c.name)
			if err := e.UpsertVolunteer(vol("n8", 300, 0)); err != nil { // takes the freed id
				t.Fatal(err)
			}
			upsert(c.shown)
			check("back", c.shown)
			for i, h := range held {
				want := c.shown
				if i == 2 || i == 3 {
					want = other
				}
				if h.Volunteer != c.name || h.DisplayName != want {
					t.Errorf("name handed out at check %d changed under its holder", i)
				}
			}
		})
	}
}

// TestVolunteerTextUnderConcurrentChurn: searches, Eligible and dispatch
// plans under the read lock, while writers change display names (long
// ones, so that the arena is repacked often), remove volunteers and give
// their ids to others, and Compact runs: every name comes with its own
// display name, and names held by their callers never change.
func TestVolunteerTextUnderConcurrentChurn(t *testing.T) {
	e := NewEngine(DefaultConfig())
	const n = 120
	shown := func(name string, gen int) string {
		pad := ""
		if gen%5 == 0 {
			pad = strings.Repeat("·", 40_000) // 80,000 bytes: past a 16-bit length
		}
		return fmt.Sprintf("%s|%d|%s", name, gen, pad)
	}
	add := func(rng *rand.Rand, i, gen int) {
		v := vol(fmt.Sprintf("c%03d", i), float64(rng.IntN(1500)), float64(rng.IntN(1500)))
		v.Contact.DisplayName = shown(v.Name, gen)
		v.Capacity = 3
		if err := e.UpsertVolunteer(v); err != nil {
			t.Error(err)
		}
	}
	rng0 := rand.New(rand.NewPCG(5, 6))
	for i := range n {
		add(rng0, i, 0)
	}
	type held struct{ name, shown, nameCopy, shownCopy string }
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	var kept []held
	var searches atomic.Int64
	consistent := func(who, name, disp string) {
		if !strings.HasPrefix(disp, name+"|") {
			t.Errorf("%s: %.30q shown as %.30q", who, name, disp)
		}
	}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch rng.IntN(6) {
				case 0:
					plan, err := e.PlanDispatch([]DispatchRequest{{Request: req()}, {Request: req(func(r *pb.HelpRequest) { r.Name = "helpRequests/r2" })}}, 5, monday)
					if err != nil {
						t.Error(err)
						return
					}
					for _, o := range plan.Offers {
						if !strings.HasPrefix(o.Volunteer, "volunteers/c") {
							t.Errorf("dispatch offered %.30q", o.Volunteer)
						}
					}
				default:
					res, err := e.FindCandidates(req(), nil, 30, monday)
					if err != nil {
						t.Error(err)
						return
					}
					searches.Add(1)
					for _, c := range res.Candidates {
						consistent("search", c.Volunteer, c.DisplayName)
					}
					if len(res.Candidates) > 0 {
						c := res.Candidates[rng.IntN(len(res.Candidates))]
						mu.Lock()
						if len(kept) < 2000 {
							kept = append(kept, held{c.Volunteer, c.DisplayName, strings.Clone(c.Volunteer), strings.Clone(c.DisplayName)})
						}
						mu.Unlock()
					}
					res.Release()
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(7, 8))
	gen := 1
	// Writes go on until the readers have searched a while among them.
	for step := 0; step < 1500 || (searches.Load() < 200 && !t.Failed()); step++ {
		i := rng.IntN(n)
		switch op := rng.IntN(20); {
		case op == 0:
			e.Compact()
		case op < 4:
			e.RemoveVolunteer(fmt.Sprintf("volunteers/c%03d", i))
			add(rng, (i+1+rng.IntN(n-1))%n, gen) // may take the freed id
			add(rng, i, gen)
		default:
			add(rng, i, gen)
		}
		gen++
		if step%50 == 0 {
			runtime.Gosched()
		}
	}
	close(stop)
	wg.Wait()
	if len(kept) == 0 {
		t.Fatal("no names held: the test did not reach what it is for")
	}
	for _, h := range kept {
		if h.name != h.nameCopy || h.shown != h.shownCopy {
			t.Fatalf("a name handed out changed under its holder: %.40q, was %.40q", h.name, h.nameCopy)
		}
	}
}

// TestAwayDatesThroughEdits: one volunteer's away dates edited from one
// span to several and back (a single day, overlapping and adjacent
// ranges, a gap, an inverted range, dates before 1970 and far ahead):
// each day of a fortnight is judged away exactly when it falls in a
// range, and the side record is kept only when the packed record cannot
// hold the dates.
func TestAwayDatesThroughEdits(t *testing.T) {
	day := func(d int) *pb.Date {
		t := monday.AddDate(0, 0, d)
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	far := func(y int32) *pb.Date { return &pb.Date{Year: y, Month: 6, Day: 1} }
	type rng struct{ from, to *pb.Date }
	r := func(a, b int) rng { return rng{day(a), day(b)} }
	for _, c := range []struct {
		name  string
		away  []rng
		side  bool // the side record must hold them
		days  []int
		field string
	}{
		{"none", nil, false, nil, ""},
		{"one day", []rng{r(3, 3)}, false, []int{3}, ""},
		{"one span", []rng{r(2, 5)}, false, []int{2, 3, 4, 5}, ""},
		{"overlapping", []rng{r(4, 8), r(2, 5)}, false, []int{2, 3, 4, 5, 6, 7, 8}, ""},
		{"adjacent", []rng{r(6, 7), r(2, 5)}, false, []int{2, 3, 4, 5, 6, 7}, ""},
		{"gap", []rng{r(1, 2), r(5, 6)}, true, []int{1, 2, 5, 6}, ""},
		{"back to one", []rng{r(9, 9)}, false, []int{9}, ""},
		{"inverted", []rng{r(5, 3)}, true, nil, ""},
		{"inverted and one", []rng{r(5, 3), r(10, 11)}, false, []int{10, 11}, ""},
		{"contained", []rng{r(1, 12), r(3, 4), r(12, 12)}, false, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, ""},
		{"far past and now", []rng{{far(1901), far(1902)}, r(0, 0)}, true, []int{0}, ""},
		{"far past", []rng{{far(1901), far(1902)}}, true, nil, ""},
		{"far future", []rng{{far(9000), far(9999)}}, false, nil, ""},
		{"long span", []rng{{far(1971), far(9999)}}, false, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, ""},
		{"several again", []rng{r(0, 0), r(2, 2), r(4, 4)}, true, []int{0, 2, 4}, ""},
		{"none again", nil, false, nil, ""},
	} {
		e := NewEngine(DefaultConfig())
		for pass := range 2 { // a fresh volunteer, then an edit of the last case's
			v := vol("a", 0, 0)
			v.Etag = fmt.Sprint(pass + 1)
			for _, a := range c.away {
				v.Availability.Away = append(v.Availability.Away, &pb.DateRange{StartDate: a.from, EndDate: a.to})
			}
			if pass == 1 {
				prev := vol("a", 0, 0, func(v *pb.Volunteer) {
					v.Availability.Away = []*pb.DateRange{{StartDate: day(1), EndDate: day(2)}, {StartDate: day(7), EndDate: day(9)}}
				})
				e = engineWith(t, prev)
			}
			if err := e.UpsertVolunteer(v); err != nil {
				t.Fatal(err)
			}
			id, _ := e.ids.find(e, v.Name)
			if x := e.extra[id]; (x != nil && len(x.away) > 0) != c.side {
				t.Errorf("%s (pass %d): side record %v, want dates there %v", c.name, pass, x, c.side)
			}
			if (e.hot[id].flags&hotAway != 0) != (len(c.away) > 0) {
				t.Errorf("%s (pass %d): away flag %v", c.name, pass, e.hot[id].flags&hotAway != 0)
			}
			for d := range 14 {
				rq := req(func(r *pb.HelpRequest) {
					r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.AddDate(0, 0, d).Add(10 * time.Hour)), EndTime: timestamppb.New(monday.AddDate(0, 0, d).Add(11 * time.Hour))}}
				})
				ok, why, err := e.Eligible(rq, nil, v.Name, monday.Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				away := false
				for _, a := range c.days {
					away = away || a == d
				}
				if ok == away || (away && why.Reason != Away) {
					t.Errorf("%s (pass %d): day %d eligible %v (%s), want away %v", c.name, pass, d, ok, why.Reason, away)
				}
			}
		}
	}
}

// TestSlotSentenceAtDayBounds: a slot ending at 24:00, or running all
// day, is named as stored in the sentence a helpline reads, and matches
// the last minutes of the day.
func TestSlotSentenceAtDayBounds(t *testing.T) {
	tod := func(h, m int32) *pb.TimeOfDay { return &pb.TimeOfDay{Hours: h, Minutes: m} }
	for _, c := range []struct {
		from, to *pb.TimeOfDay
		want     string
	}{
		{tod(22, 0), tod(24, 0), "free Mon 22:00-24:00"},
		{tod(0, 0), tod(24, 0), "free Mon 00:00-24:00"},
		{tod(23, 59), tod(24, 0), "free Mon 23:59-24:00"},
		{tod(23, 15), tod(23, 45), "free Mon 23:15-23:45"},
	} {
		v := vol("a", 0, 0, func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_MONDAY, StartTime: c.from, EndTime: c.to}}
		})
		e := engineWith(t, v)
		rq := req(func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(23*time.Hour + 59*time.Minute)), EndTime: timestamppb.New(monday.Add(24 * time.Hour))}}
		})
		res, err := e.FindCandidates(rq, nil, 5, monday)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(res.Candidates) == 1 {
			got = res.Candidates[0].Explain()
		}
		wantFound := c.to.Hours == 24
		if (len(res.Candidates) == 1) != wantFound {
			t.Errorf("%v-%v: %d candidates, want found %v", c.from, c.to, len(res.Candidates), wantFound)
		} else if wantFound && !strings.Contains(got, c.want) {
			t.Errorf("%v-%v: said %q, want %q in it", c.from, c.to, got, c.want)
		}
	}
}

// TestStrIndexFullAndSparse: a table held near three quarters full by
// inserts and removals in turn, with numbers spread up to 2^24 (seven
// bits left for fingerprints), and then renumbered densely, finds exactly
// what a map holds and never passes three quarters.
func TestStrIndexFullAndSparse(t *testing.T) {
	for _, c := range []struct {
		name  string
		maxID int
	}{{"dense", 1 << 10}, {"sparse ids", 1 << 24}} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(c.maxID)))
			keys := map[uint32]string{}
			keyOf := func(m map[uint32]string, id uint32) string { return m[id] }
			var x strIndex[map[uint32]string]
			want := map[string]uint32{}
			key := func(i int) string { return fmt.Sprintf("AB%d %dXY", i%40, i) }
			check := func(step int) {
				t.Helper()
				if 4*x.n > 3*len(x.slots) {
					t.Fatalf("step %d: %d entries in %d slots", step, x.n, len(x.slots))
				}
				for i := range 400 {
					s := key(i)
					id, ok := x.find(keys, keyOf, s)
					wid, wok := want[s]
					if ok != wok || (ok && id != wid) {
						t.Fatalf("step %d: find(%s) = %d %v, want %d %v", step, s, id, ok, wid, wok)
					}
				}
			}
			for step := range 6000 {
				s := key(rng.IntN(400))
				if id, ok := want[s]; ok {
					x.remove(keys, keyOf, id)
					delete(want, s)
					delete(keys, id)
				} else {
					var id uint32
					for {
						id = uint32(rng.IntN(c.maxID))
						if _, taken := keys[id]; !taken {
							break
						}
					}
					keys[id] = s
					x.insert(keys, keyOf, id)
					want[s] = id
				}
				if step%250 == 0 {
					check(step)
				}
			}
			check(6000)
			// Renumber densely, as Compact does.
			to := make([]uint32, c.maxID)
			next := uint32(0)
			renamed := map[uint32]string{}
			for id := range c.maxID {
				if s, ok := keys[uint32(id)]; ok {
					to[id] = next
					renamed[next] = s
					want[s] = next
					next++
				}
			}
			x.renumber(to)
			keys = renamed
			check(6001)
		})
	}
}

// TestEmptySlotIsNeverFree: a slot that ends where it starts, or before,
// (the server refuses them, and minutes past the day's bounds are held to
// them) frees nobody, even where the hour mask alone would settle it.
func TestEmptySlotIsNeverFree(t *testing.T) {
	tod := func(h, m int32) *pb.TimeOfDay { return &pb.TimeOfDay{Hours: h, Minutes: m} }
	for _, c := range []struct {
		from, to *pb.TimeOfDay
		at       time.Duration // a 40-minute request from Monday 00:00 plus at
	}{
		{tod(0, 0), tod(0, 0), 10 * time.Minute},
		{tod(0, -30), tod(0, 0), 10 * time.Minute},
		{tod(10, 0), tod(10, 0), 10 * time.Hour},
		{tod(12, 0), tod(10, 0), 10 * time.Hour},
		{tod(24, 0), tod(24, 30), 23 * time.Hour},
	} {
		v := vol("a", 0, 0, func(v *pb.Volunteer) {
			v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_MONDAY, StartTime: c.from, EndTime: c.to}}
		})
		e := engineWith(t, v)
		rq := req(func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(c.at)), EndTime: timestamppb.New(monday.Add(c.at + 40*time.Minute))}}
		})
		res, err := e.FindCandidates(rq, nil, 5, monday)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Candidates) != 0 {
			t.Errorf("slot %v-%v: %s is free at %v", c.from, c.to, res.Candidates[0].Volunteer, c.at)
		}
	}
}
