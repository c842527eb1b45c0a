package store

import (
	"testing"
)

// TestOpenMatchingPassUnderOneEpoch: dispatch groups one caller's
// requests by MatchingInput.Requester, the phone's hash under the key
// epoch, which every erasure and purge rotates. A pass read a page at a
// time must not straddle a rotation: the next page after one fails with
// ErrPassStale, and the pass read again gives one caller one Requester.
func TestOpenMatchingPassUnderOneEpoch(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	const phone, other = "+447700900733", "+447700900734"
	// Two requests from one caller at one door, windows meeting.
	a, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
	mustOK(t, err, "create a")
	b, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
	mustOK(t, err, "create b")
	// Someone else, to be erased (in life: any erasure or the hourly purge).
	_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", other), Idempotency{})
	mustOK(t, err, "create other")

	page1, tok, err := s.ListOpenMatchingInputs(bg, Page{Size: 1})
	mustOK(t, err, "page 1")
	if len(page1) != 1 || page1[0].HelpRequest.Name != a.Name || tok == "" {
		t.Fatalf("page 1: %d inputs, token %q", len(page1), tok)
	}
	_, err = s.ErasePerson(bg, other, clock.now())
	mustOK(t, err, "erase someone else (rotates the key epoch)")
	_, _, err = s.ListOpenMatchingInputs(bg, Page{Size: 1, Token: tok})
	mustErr(t, err, ErrPassStale, "page 2 after a rotation")

	// Read again, the pass sees one caller.
	var got []MatchingInput
	for tok := ""; ; {
		page, next, err := s.ListOpenMatchingInputs(bg, Page{Size: 1, Token: tok})
		mustOK(t, err, "pass read again")
		got = append(got, page...)
		if tok = next; tok == "" {
			break
		}
	}
	if len(got) != 2 || got[0].HelpRequest.Name != a.Name || got[1].HelpRequest.Name != b.Name {
		t.Fatalf("pass read again: %d inputs", len(got))
	}
	if got[0].Requester == "" || got[0].Requester != got[1].Requester {
		t.Errorf("one caller's two requests read in one pass have Requester %q and %q", got[0].Requester, got[1].Requester)
	}
}
