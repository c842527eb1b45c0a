package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestVolunteerEditAwayKeepsTheHolidayUnderWay: Aileen is away from
// Monday to the 20th. Staff add a day she is away later in the month
// (--away 25 mar), which replaces the dates held: her holiday, begun,
// was taken for one she was back early from and dropped without a word,
// so from tomorrow to the 20th she would be offered jobs while away.
// Its days yet to come are named as a holiday booked ahead is, with the
// command that keeps it; one that ends today (she is back) says nothing.
func TestVolunteerEditAwayKeepsTheHolidayUnderWay(t *testing.T) {
	e := newTestEnv(t)
	_, aileen := e.addVolunteers()
	e.ok("volunteer", "edit", aileen, "--away", "2026-03-09 to 2026-03-20")

	r := e.run("volunteer", "edit", aileen, "--away", "25 mar")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	want := "doorstep volunteer edit " + idOf(aileen) + " --away '25 mar, 2026-03-09 to 2026-03-20'"
	if !strings.Contains(r.stderr, "no longer away now, until Fri 20 Mar") || !strings.Contains(r.stderr, want) {
		t.Fatalf("the holiday under way was dropped: stderr %q, want it named with %q", r.stderr, want)
	}
	if out := e.ok("volunteer", "edit", aileen, "--away", "25 mar, 2026-03-09 to 2026-03-20"); !regexp.MustCompile(`Away +.*now, until Fri 20 Mar`).MatchString(out) {
		t.Errorf("%s did not keep the holiday:\n%s", want, out)
	}

	e.ok("volunteer", "edit", aileen, "--away", "none")
	e.ok("volunteer", "edit", aileen, "--away", "2026-03-09 to 2026-03-10")
	if r := e.run("volunteer", "edit", aileen, "--away", "25 mar"); r.code != 0 || r.stderr != "" {
		t.Errorf("dropping a holiday that ends today said %q (exit %d)", r.stderr, r.code)
	}
}
