package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRequestNewNamesTheCallerVolunteersPastTen: a sheltered housing
// scheme's warden's line is the number its residents volunteer on, and
// one of them rings for help. The note read the first ten volunteers on
// the number, then left out those paused: ten paused residents listed
// first, the eleventh, still being offered others' requests, was never
// named, and nothing said that anyone was left out. Each volunteer the
// note is for is named, or the note says more are on the number and how
// to list them.
func TestRequestNewNamesTheCallerVolunteersPastTen(t *testing.T) {
	const line = "01224 555000"
	e := newTestEnv(t)
	for i := range 10 {
		out := e.ok("volunteer", "add", "--name", fmt.Sprintf("Resident %d", i), "--phone", line, "--postcode", "AB10 1AB",
			"--available", "weekdays 9-17", "--shared-phone", "--org", org)
		e.ok("volunteer", "pause", firstName(t, out, "volunteers"))
		e.clock.advance(time.Second)
	}
	out := e.ok("volunteer", "add", "--name", "Isla Grant", "--phone", line, "--postcode", "AB10 1AB",
		"--available", "weekdays 9-17", "--shared-phone", "--org", org)
	isla := firstName(t, out, "volunteers")
	e.clock.advance(time.Second)
	r := e.run("request", "new", "--postcode", "AB10 1AB", "--street", "Union St", "--needs", "grocery_shopping",
		"--when", "tomorrow 10:00-12:00", "--name", "Isla Grant", "--phone", line, "--org", org)
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "doorstep volunteer pause "+idOf(isla)) {
		t.Errorf("request new from a number eleven volunteers share, the eleventh not paused, printed:\n%s\nwant a note naming her (%s) with how to pause her", r.stdout, idOf(isla))
	}
}
