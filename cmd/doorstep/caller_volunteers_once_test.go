package main

import (
	"context"
	"strings"
	"testing"
)

// TestRequestNewNamesTheCallerVolunteerOnce: Siobhán's volunteer record
// was stored by an older version with the zero after the country code
// (+3530871234567). Ill, she rings for help from "+353 87 123 4567". The
// note is looked up in each form of the number, and the server lists both
// forms under either: it named her twice, as two volunteers to pause.
func TestRequestNewNamesTheCallerVolunteerOnce(t *testing.T) {
	e := newTestEnv(t)
	out := e.ok("volunteer", "add", "--name", "Siobhan Kelly", "--phone", "+353 87 123 4567", "--postcode", "AB10 1AB",
		"--available", "daily 08:00-20:00", "--org", org)
	vol := firstName(t, out, "volunteers")
	v, err := e.st.GetVolunteer(context.Background(), idOf(vol))
	if err != nil {
		t.Fatal(err)
	}
	v.Contact.Phone = "+3530871234567"
	if _, err := e.st.UpdateVolunteer(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	r := e.run("request", "new", "--postcode", "AB10 1AF", "--street", "Correction Wynd", "--needs", "grocery_shopping",
		"--when", "tomorrow 10:00-12:00", "--name", "Siobhan Kelly", "--phone", "+353 87 123 4567", "--org", org)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, "doorstep volunteer pause "+idOf(vol)); n != 1 {
		t.Errorf("request new named her %d times, want once:\n%s", n, r.stdout)
	}
}
