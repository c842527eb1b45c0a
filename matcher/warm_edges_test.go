package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/doorstep-aid/doorstep/geo"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// warmOp is one step of a run against an engine: a write, a removal, a
// search (which brings the grid up to date) or Compact.
type warmOp struct {
	put     *pb.Volunteer
	remove  string
	search  bool
	compact bool
}

func putOp(v *pb.Volunteer) warmOp { return warmOp{put: v} }

// asStored keeps the last write of each volunteer that the engine takes
// (a newer or equal etag), as the store would hold them.
type asStored map[string]*pb.Volunteer

func (s asStored) apply(e *Engine, t testing.TB, op warmOp) {
	t.Helper()
	switch {
	case op.put != nil:
		if err := e.UpsertVolunteer(op.put); err != nil {
			t.Fatal(err)
		}
		rev := func(v *pb.Volunteer) uint64 { r, _ := strconv.ParseUint(v.Etag, 10, 64); return r }
		if old, ok := s[op.put.Name]; !ok || rev(old) <= rev(op.put) {
			s[op.put.Name] = op.put
		}
	case op.remove != "":
		e.RemoveVolunteer(op.remove)
		delete(s, op.remove)
	case op.search:
		if _, err := e.FindCandidates(req(), nil, 1000, monday); err != nil {
			t.Fatal(err)
		}
	case op.compact:
		e.Compact()
	}
}

// seenAs is what a search says of a candidate, to compare two engines by.
type seenAs struct {
	name, shown          string
	metres, score        float64
	sameStreet, samePost bool
}

func candidatesOf(t testing.TB, e *Engine, r *pb.HelpRequest) []seenAs {
	t.Helper()
	res, err := e.FindCandidates(r, nil, 1000, monday)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]seenAs, 0, len(res.Candidates))
	for _, c := range res.Candidates {
		out = append(out, seenAs{c.Volunteer, c.DisplayName, c.Metres, c.Score, c.SameStreet, c.SamePostcode})
	}
	slices.SortFunc(out, func(a, b seenAs) int { return strings.Compare(a.name, b.name) })
	return out
}

// reqAt is a request from postcode and street: the volunteers there have
// the bonuses, which the interned tables find.
func reqAt(postcode, street string) *pb.HelpRequest {
	return req(func(r *pb.HelpRequest) { r.Location.Postcode, r.Location.Street = postcode, street })
}

// sameAsFresh checks e against an engine given only the records s holds:
// the same volunteers, found by name, seen the same by a search from
// vol's door, from near it and from each of places (postcode, street).
func sameAsFresh(t testing.TB, e *Engine, s asStored, places ...[2]string) {
	t.Helper()
	fresh := NewEngine(DefaultConfig())
	for _, v := range s {
		if err := fresh.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	if e.Len() != len(s) {
		t.Errorf("engine holds %d volunteers, want %d", e.Len(), len(s))
	}
	e.mu.Lock()
	for id := range e.vols {
		if !e.vols[id].live {
			continue
		}
		name := e.nameOf(uint32(id))
		if got, ok := e.ids.find(e, name); !ok || got != uint32(id) {
			t.Errorf("%.40q: found as %d %v, is %d", name, got, ok, id)
		}
		if _, ok := s[name]; !ok {
			t.Errorf("%.40q held, never written or removed", name)
		}
	}
	e.mu.Unlock()
	for _, r := range append([]*pb.HelpRequest{req(), reqAt("AB10 1AF", "Correction Wynd")}, reqsAt(places)...) {
		got, want := candidatesOf(t, e, r), candidatesOf(t, fresh, r)
		if !slices.Equal(got, want) {
			t.Errorf("search from %s found %d candidates, a fresh engine %d:\n got %.600v\nwant %.600v", r.Location.Postcode, len(got), len(want), got, want)
		}
	}
}

func reqsAt(places [][2]string) []*pb.HelpRequest {
	var out []*pb.HelpRequest
	for _, p := range places {
		out = append(out, reqAt(p[0], p[1]))
	}
	return out
}

// TestUpsertWarmEdges runs updates through each place warmUpsert reads
// ahead where an index may be missing, stale or at an edge: each run must
// end as an engine given only the surviving records, without a panic.
func TestUpsertWarmEdges(t *testing.T) {
	at := func(name string, dn float64, edit ...func(*pb.Volunteer)) *pb.Volunteer {
		return vol(name, dn, 0, edit...)
	}
	blank := func(v *pb.Volunteer) { v.Name, v.Contact.DisplayName = "", "" }
	noSlots := func(v *pb.Volunteer) { v.Availability.Weekly = nil }
	etag := func(s string) func(*pb.Volunteer) { return func(v *pb.Volunteer) { v.Etag = s } }
	shown := func(s string) func(*pb.Volunteer) { return func(v *pb.Volunteer) { v.Contact.DisplayName = s } }
	postcode := func(p string) func(*pb.Volunteer) { return func(v *pb.Volunteer) { v.Home.Postcode = p } }
	noStreet := func(v *pb.Volunteer) { v.Home.Street = "" }
	search, compact := warmOp{search: true}, warmOp{compact: true}
	long := strings.Repeat("L", longText+1)
	var churn []warmOp // one volunteer through enough postcodes for dropUnused to rebuild them
	for i := range 2*internSlack + 8 {
		churn = append(churn, putOp(at("mover", 10, postcode(fmt.Sprintf("ZZ%d 1AA", i)))))
	}
	cases := []struct {
		name string
		ops  []warmOp
	}{
		{"first write, then its update", []warmOp{putOp(at("a", 10)), putOp(at("a", 20))}},
		{"first write blank, then its update", []warmOp{putOp(at("a", 10, blank)), putOp(at("a", 20, blank))}},
		{"blank after others, updated", []warmOp{putOp(at("a", 10)), search, putOp(at("b", 10, blank)), putOp(at("b", 30, blank)), search, putOp(at("b", 40, blank))}},
		{"no slots, last in the arena, updated", []warmOp{putOp(at("a", 10)), putOp(at("b", 10, noSlots)), putOp(at("b", 20, noSlots)), putOp(at("b", 30))}},
		{"no street, then a street", []warmOp{putOp(at("a", 10, noStreet)), putOp(at("a", 20)), putOp(at("a", 30, noStreet))}},
		{"long display name kept and changed", []warmOp{putOp(at("a", 10, shown(long))), search, putOp(at("a", 20, shown(long))), putOp(at("a", 30))}},
		{"id past the grid's slots", []warmOp{putOp(at("a", 10)), search, putOp(at("b", 10)), putOp(at("b", 20)), putOp(at("c", 10)), search, putOp(at("c", 30))}},
		{"removed id reused", []warmOp{putOp(at("a", 10)), putOp(at("b", 10)), search, {remove: "volunteers/a"}, putOp(at("c", 10)), putOp(at("c", 20)), search, putOp(at("c", 30)), putOp(at("a", 10))}},
		{"emptied, then filled again", []warmOp{putOp(at("a", 10)), {remove: "volunteers/a"}, putOp(at("b", 10)), putOp(at("b", 20)), search, putOp(at("b", 30))}},
		{"after Compact", []warmOp{putOp(at("a", 10)), putOp(at("b", 900)), putOp(at("c", 10)), {remove: "volunteers/b"}, compact, putOp(at("c", 20)), putOp(at("a", 3000)), putOp(at("d", 10))}},
		{"after a bulk load", []warmOp{putOp(at("a", 10)), putOp(at("b", 10)), putOp(at("c", 4000)), search, putOp(at("c", 10)), putOp(at("a", 4000))}},
		{"older write loses", []warmOp{putOp(at("a", 10, etag("5"))), putOp(at("a", 20, etag("4"))), search, putOp(at("a", 30, etag("4")))}},
		{"empty and unparseable etags", []warmOp{putOp(at("a", 10, etag(""))), putOp(at("a", 20, etag("x"))), putOp(at("b", 10, etag("3"))), putOp(at("b", 20, etag("")))}},
		{"after the postcodes are rebuilt", append(append([]warmOp{putOp(at("a", 10)), search}, churn...), putOp(at("a", 20, postcode("AB1 2CD"))), putOp(at("b", 10, postcode("AB1 3CD"))), search, putOp(at("mover", 20)))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, s := NewEngine(DefaultConfig()), asStored{}
			for _, op := range c.ops {
				s.apply(e, t, op)
			}
			sameAsFresh(t, e, s)
		})
	}
}

// collision is a string, made by mk from a number, that table x does not
// hold but whose guess names a number x holds (another string with the
// same fingerprint first on its probe): warmUpsert then reads ahead for
// the wrong volunteer, postcode or street.
func collision[S any](t testing.TB, x *strIndex[S], src S, keyOf func(S, uint32) string, mk func(i int) string) (string, uint32) {
	t.Helper()
	for i := range 50_000_000 {
		s := mk(i)
		h := x.hash(s)
		if g, ok := x.guess(h); ok {
			if _, held := x.findHashed(src, keyOf, s, h); !held {
				return s, g
			}
		}
	}
	t.Fatal("no string guessed wrong in 50 million")
	return "", 0
}

// TestUpsertWarmWrongGuess: a name, postcode and street whose guesses name
// another's number (a fingerprint shared on the probe) are written, moved
// and written again; the volunteer whose number was guessed is untouched.
func TestUpsertWarmWrongGuess(t *testing.T) {
	e, s := NewEngine(DefaultConfig()), asStored{}
	const n = 2000
	for i := range n {
		s.apply(e, t, putOp(vol(fmt.Sprintf("v%d", i), float64(i%40*50), float64(i/40*50), func(v *pb.Volunteer) {
			v.Home.Postcode, v.Home.Street = fmt.Sprintf("P%d 1AA", i), fmt.Sprintf("%d Street", i)
		})))
	}
	s.apply(e, t, warmOp{search: true})
	name, nameGuess := collision(t, &e.ids.strIndex, e, volName, func(i int) string { return "volunteers/w" + strconv.Itoa(i) })
	pc, pcGuess := collision(t, &e.postcodes.index, &e.postcodes, nameOf, func(i int) string { return "Q" + strconv.Itoa(i) + " 1AA" })
	const stPostcode = "P7 1AA"
	street, stGuess := collision(t, &e.streets.index, &e.streets, nameOf, func(i int) string {
		return streetIndexKey(geo.StreetKey(strconv.Itoa(i)+" Road"), stPostcode)
	})
	t.Logf("name guessed as %d, postcode as %d, street as %d", nameGuess, pcGuess, stGuess)
	streetName := strings.TrimPrefix(street, street[:strings.IndexByte(street, '|')+1])
	for round, dn := range []float64{5, 25, 45} {
		s.apply(e, t, putOp(vol("w", dn, 0, func(v *pb.Volunteer) {
			v.Name, v.Etag = "volunteers/"+strings.TrimPrefix(name, "volunteers/"), strconv.Itoa(round)
		})))
		s.apply(e, t, putOp(vol("x", dn, 0, func(v *pb.Volunteer) { v.Home.Postcode, v.Etag = pc, strconv.Itoa(round) })))
		s.apply(e, t, putOp(vol("y", dn, 0, func(v *pb.Volunteer) {
			v.Home.Postcode, v.Home.Street, v.Etag = stPostcode, streetName, strconv.Itoa(round)
		})))
		if round == 1 {
			s.apply(e, t, warmOp{search: true})
		}
	}
	e.mu.Lock()
	if got, ok := e.streets.index.find(&e.streets, nameOf, street); !ok || e.streets.head[got] == 0 {
		t.Errorf("street key %q not held by y (test's street spelling is off)", street)
	}
	e.mu.Unlock()
	sameAsFresh(t, e, s, [2]string{pc, "Correction Wynd"}, [2]string{stPostcode, streetName})
}

// TestUpsertWarmConcurrent: writers that add, update, remove and re-add
// their own volunteers (taking each other's freed ids), while searches,
// dispatch plans and Compact run (-race): the engine ends as one given
// only the surviving records.
func TestUpsertWarmConcurrent(t *testing.T) {
	e := NewEngine(DefaultConfig())
	const writers, each, rounds = 3, 40, 60
	stored := make([]asStored, writers)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		stored[w] = asStored{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stored[w]
			for r := range rounds {
				for i := range each {
					name := fmt.Sprintf("w%dv%d", w, i)
					switch (r + i) % 7 {
					case 3:
						s.apply(e, t, warmOp{remove: "volunteers/" + name})
					case 5:
						s.apply(e, t, putOp(vol(name, float64(r*10+i), float64(w*100), func(v *pb.Volunteer) {
							v.Availability.Weekly, v.Contact.DisplayName = nil, ""
							v.Home.Street, v.Etag = "", "x"
						})))
					default:
						s.apply(e, t, putOp(vol(name, float64(i*20), float64(w*100+r), func(v *pb.Volunteer) {
							v.Home.Postcode, v.Etag = fmt.Sprintf("W%d %dAA", w, r%5), strconv.Itoa(r)
						})))
					}
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for g := range 3 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for k := 0; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				switch {
				case g == 0 && k%8 == 7:
					e.Compact()
				case g == 1:
					if _, err := e.PlanDispatch([]DispatchRequest{{Request: req()}}, 3, monday); err != nil {
						t.Error(err)
						return
					}
				default:
					if _, err := e.FindCandidates(req(), nil, 20, monday); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	all := asStored{}
	for _, s := range stored {
		for k, v := range s {
			all[k] = v
		}
	}
	sameAsFresh(t, e, all)
}

// TestUpsertWarmWideBlock: updates of volunteers in a block whose arena
// outgrew 16-bit cell headers (gridBlock.wide), loaded in bulk and then
// grown one by one: in place, to another cell of the block, and out.
func TestUpsertWarmWideBlock(t *testing.T) {
	e, s := NewEngine(DefaultConfig()), asStored{}
	const crowd = 1<<15 + 1 // one cell's run of 65,536 needs wide headers
	for i := range crowd {
		s.apply(e, t, putOp(vol(fmt.Sprintf("c%d", i), 10, 10, func(v *pb.Volunteer) { v.Availability.Weekly = nil })))
	}
	s.apply(e, t, warmOp{search: true})
	e.mu.Lock()
	wide := e.grid.blocks[e.grid.slots[0].bc>>8].wide != nil
	e.mu.Unlock()
	if !wide {
		t.Fatal("the crowd's block has no wide headers")
	}
	for i, dn := range []float64{10, 30, 5000, 10, 40} {
		s.apply(e, t, putOp(vol(fmt.Sprintf("c%d", i*1000), dn, 10, func(v *pb.Volunteer) { v.Etag = "9" })))
		s.apply(e, t, putOp(vol("new", dn, 10, func(v *pb.Volunteer) { v.Etag = strconv.Itoa(i) })))
		s.apply(e, t, warmOp{search: true})
	}
	sameAsFresh(t, e, s)
}

// TestGridCellInIsPlace: the cell an update's read-ahead warms (cellIn)
// is the cell place then puts the point in, for points moved a few metres
// to a kilometre from one in the block, in either hemisphere and across
// the antimeridian; and none where place puts it in another block.
func TestGridCellInIsPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := NewGrid(CellMetres)
	same, other := 0, 0
	for i := range 4000 {
		lat := rng.Float64()*170 - 85
		lng := rng.Float64()*360 - 180
		if i%4 == 0 {
			lat, lng = 57.15+rng.Float64()*0.01, -2.1+rng.Float64()*0.01
		}
		id := uint32(i)
		g.Upsert(id, lat, lng)
		sl := g.slots[id]
		blk := g.blocks[sl.bc>>8]
		d := []float64{0.00001, 0.001, 0.01}[i%3]
		mlat, mlng := lat+(rng.Float64()-0.5)*d, lng+(rng.Float64()-0.5)*d
		if mlng >= 180 {
			mlng -= 360
		}
		ci, ok := g.cellIn(blk, mlat, mlng)
		at := g.place(id, mlat, mlng, 0)
		inBlk := at.key == gridKey(int64(blk.by), int64(blk.bx))
		if ok != inBlk || (ok && ci != at.ci) {
			t.Fatalf("(%v, %v) -> (%v, %v): cellIn = %d %v; place: cell %d, same block %v", lat, lng, mlat, mlng, ci, ok, at.ci, inBlk)
		}
		if ok {
			same++
		} else {
			other++
		}
	}
	if same == 0 || other == 0 {
		t.Fatalf("moves within a block %d, to another %d: both must be tried", same, other)
	}
}
