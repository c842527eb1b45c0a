package matcher

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestVolunteerTextUnderChurn: names and display names kept in the
// engine's arena come back as they were written through updates that
// change them or keep them, removals, returns, repacks and Compact,
// including ones too long for a 16-bit length; the arena's stale count is
// exact and bounded; and strings handed out earlier are not written over
// when the arena grows or is repacked under them.
func TestVolunteerTextUnderChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	e := NewEngine(DefaultConfig())
	want := map[string]string{} // name: display name, of those in the engine
	shown := func(i int) string {
		switch rng.IntN(20) {
		case 0:
			return ""
		case 1:
			return strings.Repeat("Ŵ", 33_000+rng.IntN(10)) // 66,000 bytes and more
		case 2:
			return fmt.Sprintf("Eilidh %d Mac%s", i, strings.Repeat("a", rng.IntN(300)))
		}
		return fmt.Sprintf("Neighbour %d.%d", i, rng.IntN(1000))
	}
	long := strings.Repeat("x", 70_000)
	nameOf := func(i int) string {
		if i%97 == 0 {
			return fmt.Sprintf("volunteers/%s%d", long, i)
		}
		return fmt.Sprintf("volunteers/t%03d", i)
	}
	upsert := func(i int, display string) {
		v := vol("x", float64(rng.IntN(800)), float64(rng.IntN(800)))
		v.Name, v.Contact.DisplayName = nameOf(i), display // no etag: every write wins
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		want[v.Name] = display
	}
	type held struct{ name, display, nameCopy, displayCopy string }
	var kept []held
	check := func(step int) {
		t.Helper()
		res, err := e.FindCandidates(req(), nil, 1000, monday)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Candidates) != len(want) {
			t.Fatalf("step %d: %d candidates, want %d", step, len(res.Candidates), len(want))
		}
		for _, c := range res.Candidates {
			d, ok := want[c.Volunteer]
			if !ok || d != c.DisplayName {
				t.Fatalf("step %d: candidate %.40q shown as %.40q; want %v %.40q", step, c.Volunteer, c.DisplayName, ok, d)
			}
		}
		if c := res.Candidates[rng.IntN(len(res.Candidates))]; len(kept) < 200 {
			kept = append(kept, held{c.Volunteer, c.DisplayName, strings.Clone(c.Volunteer), strings.Clone(c.DisplayName)})
		}
		e.mu.RLock()
		live := 0
		for i := range e.vols {
			if e.vols[i].live {
				live += e.textBytes(&e.vols[i])
			}
		}
		if live+e.text.stale != e.text.size {
			t.Fatalf("step %d: live text %d + stale %d != arena %d", step, live, e.text.stale, e.text.size)
		}
		if e.text.stale > max(1<<16, e.text.size/2) {
			t.Fatalf("step %d: %d of the arena's %d bytes stale", step, e.text.stale, e.text.size)
		}
		// A chunk is left only for a text that does not fit in what it
		// spares, and the longest here are some 136 kB.
		for i, c := range e.text.chunks[:max(len(e.text.chunks)-1, 0)] {
			if spare := cap(c) - len(c); spare > 140_000 {
				t.Fatalf("step %d: chunk %d of %d left with %d bytes to spare", step, i, len(e.text.chunks), spare)
			}
		}
		e.mu.RUnlock()
	}
	for i := range 300 {
		upsert(i, shown(i))
	}
	repacks := 0
	for step := range 6000 {
		i := rng.IntN(330)
		name := nameOf(i)
		d, in := want[name]
		switch op := rng.IntN(10); {
		case in && op < 4:
			upsert(i, d) // moves, keeps the display name
		case in && op < 8:
			upsert(i, shown(i))
		case in:
			e.RemoveVolunteer(name)
			delete(want, name)
		default:
			upsert(i, shown(i))
		}
		before := e.text.size
		if step%50 == 0 {
			check(step)
		}
		if step%1500 == 1499 {
			e.Compact()
		}
		if e.text.size < before {
			repacks++
		}
	}
	check(6000)
	for _, h := range kept {
		if h.name != h.nameCopy || h.display != h.displayCopy {
			t.Fatalf("a name handed out changed under it: %.40q, was %.40q", h.name, h.nameCopy)
		}
	}
	if repacks == 0 {
		t.Errorf("the arena was never repacked: the test did not reach what it is for")
	}
}

// TestTextArenaPutAt: strings put with their length before them come back
// whole at every length the length's bytes change at, and past a chunk,
// and stay so as later puts fill the arena's chunks.
func TestTextArenaPutAt(t *testing.T) {
	var a textArena
	type put struct {
		at   uint32
		s    string
		held string
	}
	var puts []put
	for round := range 40 {
		for _, n := range []int{0, 1, 127, 128, 16383, 16384, textChunk + 5} {
			if n > textChunk && round%10 != 0 {
				continue
			}
			s := strings.Repeat(string(rune('a'+round%26)), n)
			at := a.put(s)
			puts = append(puts, put{at, s, a.at(at)})
		}
	}
	if len(a.chunks) < 3 {
		t.Fatalf("%d chunks: the test did not cross a chunk", len(a.chunks))
	}
	for i, p := range puts {
		if got := a.at(p.at); got != p.s || p.held != p.s {
			t.Fatalf("put %d (%d bytes): at gives another string (%d bytes), or the one held changed", i, len(p.s), len(got))
		}
	}
}
