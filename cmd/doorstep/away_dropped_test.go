package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestVolunteerEditAwayTodayKeepsTheHoliday: Aileen has a holiday booked
// for April. On a snow day she rings to say she cannot go out today, and
// staff give --away today (or the next days too). --away replaces the
// dates held, so this wiped her April holiday without a word, and in April
// she would be offered jobs while away. Staff are told which dates are no
// longer held, and the command that keeps them, which works as given.
// Dropping a day begun (she is back), or shortening the holiday, is what
// was meant, and says nothing; so is --away none (a trip called off, see
// TestVolunteerEdit).
func TestVolunteerEditAwayTodayKeepsTheHoliday(t *testing.T) {
	e := newTestEnv(t)
	_, aileen := e.addVolunteers()
	e.ok("volunteer", "edit", aileen, "--away", "1 apr-10 apr")

	for _, tc := range []struct{ away, keep string }{
		{"today", "'today, 2026-04-01 to 2026-04-10'"},
		{"tomorrow, 12 mar", "'tomorrow, 12 mar, 2026-04-01 to 2026-04-10'"},
	} {
		r := e.run("volunteer", "edit", aileen, "--away", tc.away)
		if r.code != 0 {
			t.Fatalf("--away %s: exit %d: %s%s", tc.away, r.code, r.stdout, r.stderr)
		}
		want := "doorstep volunteer edit " + idOf(aileen) + " --away " + tc.keep
		if !strings.Contains(r.stderr, "no longer away Wed 1 Apr to Fri 10 Apr") || !strings.Contains(r.stderr, want) {
			t.Errorf("--away %s dropped the April holiday: stderr %q, want it named with %q; stdout:\n%s", tc.away, r.stderr, want, r.stdout)
			continue
		}
		// The command given puts it back.
		args := append([]string{"volunteer", "edit"}, strings.Fields(strings.ReplaceAll(want, "'", ""))[3:]...)
		args = append(args[:4], strings.Join(args[4:], " "))
		if out := e.ok(args...); !regexp.MustCompile(`Away +.*Wed 1 Apr to Fri 10 Apr`).MatchString(out) {
			t.Errorf("%s did not keep April:\n%s", want, out)
		}
	}
	e.ok("volunteer", "edit", aileen, "--away", "none")
	e.ok("volunteer", "edit", aileen, "--away", "today, 1 apr-10 apr")
	if r := e.run("volunteer", "edit", aileen, "--away", "1 apr-10 apr, 20 apr"); r.code != 0 || r.stderr != "" {
		t.Errorf("an --away that keeps April, dropping only today, said %q (exit %d)", r.stderr, r.code)
	}
	if r := e.run("volunteer", "edit", aileen, "--away", "5 apr-10 apr, 20 apr"); r.code != 0 || r.stderr != "" {
		t.Errorf("an --away that shortens April's holiday said %q (exit %d)", r.stderr, r.code)
	}
	// A day on its own is given as one.
	if r := e.run("volunteer", "edit", aileen, "--away", "5 apr-10 apr"); !strings.Contains(r.stderr, "--away '5 apr-10 apr, 2026-04-20')") {
		t.Errorf("dropping 20 April said %q", r.stderr)
	}
}
