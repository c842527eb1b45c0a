package main

import (
	"context"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestEditOfRecordStoredWithTrunkZero: an older version stored a number
// from abroad with the zero after its country code (+3530871234567), and
// an edit of anything else stores it as given today (+353871234567).
// Editing one of the caller's two requests then said "+353 087 ..., the
// number before, is still on" the other, "if it is not the caller's any
// more, change it there too", of a number nobody changed: the worker read
// it to the caller as a number of theirs gone wrong. Both now take the
// form given today.
func TestEditOfRecordStoredWithTrunkZero(t *testing.T) {
	e := newTestEnv(t)
	first := e.newRequest("--phone", "+353 87 123 4567")
	second := e.newRequest("--phone", "+353 87 123 4567", "--when", "tomorrow 14:00-16:00")
	for _, name := range []string{first, second} {
		r, err := e.st.GetHelpRequest(context.Background(), idOf(name))
		if err != nil {
			t.Fatal(err)
		}
		r.Requester.Phone = "+3530871234567"
		if _, err := e.st.UpdateHelpRequest(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	out := e.ok("request", "edit", idOf(first), "--details", "Milk, bread and eggs")
	if strings.Contains(out, "the number before") {
		t.Errorf("an edit of the details said the number changed:\n%s", out)
	}
	got, _, err := e.st.ListHelpRequests(context.Background(), store.HelpRequestFilter{Phone: "+353871234567"}, store.Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	// The other request takes the form today with it: left in the older
	// one, it would not read as the same caller's at the door.
	if len(got) != 2 {
		t.Errorf("after the edit, %d requests are stored under +353871234567, want both the caller's", len(got))
	}
}
