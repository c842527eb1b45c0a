package store

import (
	"errors"
	"fmt"
	"testing"
)

// TestGazetteerLoadUnfinished: a national load commits in chunks, so one
// stopped part-way (Ctrl-C at a slow start, a crash, a bad line) leaves
// the postcodes before it loaded and the rest missing or out of date. The
// README says later starts need no --gazetteer; such a start must be able
// to tell that the last load did not finish, also after a reopen, and a
// load that ends clears it.
func TestGazetteerLoadUnfinished(t *testing.T) {
	s, path := newStore(t)
	updates := func(n int, failAt int) func() (PostcodeUpdate, bool, error) {
		i := 0
		return func() (PostcodeUpdate, bool, error) {
			if i == failAt {
				return PostcodeUpdate{}, false, errors.New("interrupted")
			}
			if i == n {
				return PostcodeUpdate{}, false, nil
			}
			i++
			return PostcodeUpdate{Postcode: fmt.Sprintf("AB%d %d%c%c", 10+i/4000, i/400%10, 'A'+i/20%20, 'A'+i%20), At: LatLng{Lat: 57.1, Lng: -2.1}}, true, nil
		}
	}
	unfinished := func(s *BoltStore, want bool, when string) {
		t.Helper()
		got, err := s.GazetteerLoadUnfinished(bg)
		if err != nil || got != want {
			t.Errorf("%s: unfinished %v, %v; want %v", when, got, err, want)
		}
	}
	unfinished(s, false, "new store")
	if _, err := s.LoadPostcodes(bg, updates(100, -1)); err != nil {
		t.Fatal(err)
	}
	unfinished(s, false, "after a small load")
	st, err := s.LoadPostcodes(bg, updates(3*postcodeChunk, postcodeChunk+5))
	if err == nil || st.Stored != postcodeChunk {
		t.Fatalf("load stopped part-way: %+v, %v", st, err)
	}
	unfinished(s, true, "after a load stopped part-way")
	mustOK(t, s.Close(), "close")
	s = openAt(t, path)
	unfinished(s, true, "reopened after a load stopped part-way")
	if _, err := s.LoadPostcodes(bg, updates(3*postcodeChunk, -1)); err != nil {
		t.Fatal(err)
	}
	unfinished(s, false, "after the load is run again to its end")
}
