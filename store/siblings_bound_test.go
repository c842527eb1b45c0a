package store

import (
	"errors"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestSiblingBoundAgrees: a caller with maxSiblings+1 requests at
// one postcode: the oldest at "Holburn Street", the rest at "Union
// Street" but one with the street left out; Ann holds a Union Street one
// at the blank one's time. Dispatch's read (MatchingInput, newest
// maxSiblings including the request itself; and the page read, whose
// streets come from the caller's first request listed) and the store's
// judgement at offer time (volunteerComing, newest maxSiblings others)
// must agree on whether Ann is already going to the blank one's door.
func TestSiblingBoundAgrees(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900799"
	mk := func(street string, day int) *pb.HelpRequest { return dayRequest(t, s, phone, street, day) }
	mk("Holburn Street", 20) // the oldest, another day
	for range maxSiblings - 2 {
		mk("Union Street", 21)
	}
	held := mk("Union Street", 2)
	blank := mk("", 2)
	ann := lcVolunteer(t, s, 3)
	lcOffer(t, s, held, ann)

	alone, err := s.MatchingInput(bg, idOf(blank.Name))
	mustOK(t, err, "matching input")
	var sd *SameDoorError
	refused := errors.As(s.DoorAllows(bg, idOf(blank.Name), "volunteers/someone-else"), &sd) && sd.Coming == ann.Name
	var listed MatchingInput
	for tok := ""; ; {
		page, next, err := s.ListOpenMatchingInputs(bg, Page{Size: 2000, Token: tok})
		mustOK(t, err, "list")
		for _, in := range page {
			if in.HelpRequest.Name == blank.Name {
				listed = in
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	if (alone.Accompany == ann.Name) != refused {
		t.Errorf("MatchingInput: door %q accompany %q; the store at offer time refuses another volunteer: %v", alone.Door, alone.Accompany, refused)
	}
	if listed.Door != alone.Door || listed.Accompany != alone.Accompany {
		t.Errorf("dispatch's page read: door %q accompany %q; read alone: door %q accompany %q", listed.Door, listed.Accompany, alone.Door, alone.Accompany)
	}
}
