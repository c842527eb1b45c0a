package matcher

import (
	"fmt"
	"testing"
)

// TestStrIndexGuess: guess, which warms upsert's lookups without reading
// strings, names the number find goes on to find for every string held,
// but where another string's fingerprint matches first (rare); says none
// in a table that has never held a string, whose seed is not made yet
// (hash must not use it: maphash panics); and finds nothing in a table
// emptied again.
func TestStrIndexGuess(t *testing.T) {
	for _, c := range []struct {
		name string
		n    int
		base uint32 // numbers from here: high ones leave fewer fingerprint bits
	}{{"small", 10, 0}, {"dense", 20_000, 0}, {"high numbers", 20_000, 1 << 22}} {
		t.Run(c.name, func(t *testing.T) {
			keys := map[uint32]string{}
			keyOf := func(m map[uint32]string, id uint32) string { return m[id] }
			var x strIndex[map[uint32]string]
			if h := x.hash("AB1 2CD"); h != 0 {
				t.Fatalf("hash in a table never used = %d, want 0", h)
			}
			if _, ok := x.guess(x.hash("AB1 2CD")); ok {
				t.Fatal("guess in a table never used found something")
			}
			for i := range c.n {
				id := c.base + uint32(i)
				keys[id] = fmt.Sprintf("volunteers/v%07d", i)
				x.insert(keys, keyOf, id)
			}
			wrong := 0
			for id, s := range keys {
				h := x.hash(s)
				g, ok := x.guess(h)
				if !ok {
					t.Fatalf("guess(%q) found nothing; find finds %d", s, id)
				}
				if f, _ := x.findHashed(keys, keyOf, s, h); f != id {
					t.Fatalf("findHashed(%q) = %d, want %d", s, f, id)
				}
				if g != id {
					wrong++
				}
			}
			if wrong > c.n/100 {
				t.Errorf("guess named another number for %d of %d strings", wrong, c.n)
			}
			for id := range keys {
				x.remove(keys, keyOf, id)
			}
			for _, s := range keys {
				if g, ok := x.guess(x.hash(s)); ok {
					t.Fatalf("guess(%q) = %d in an emptied table", s, g)
				}
			}
		})
	}
}
