package main

import (
	"testing"
	"time"
)

// TestAdminAuditSinceToCome: a lead who types next year for this one, or
// "tomorrow", was told "No audit records match", as if nothing had been
// done; a --since still to come is refused, said back in the words read.
// An --until still to come is up to now, as before.
func TestAdminAuditSinceToCome(t *testing.T) {
	e := newTestEnv(t)
	e.newRequest() // Tue 10 Mar 2026 09:00
	e.clock.advance(time.Hour)
	e.asAdmin()
	for _, tc := range []struct{ since, want string }{
		{"2027-03-10", "--since (2027-03-10 00:00:00) is still to come: nothing is logged after it yet."},
		{"tomorrow", "--since (2026-03-11 00:00:00) is still to come: nothing is logged after it yet."},
		{"today 14:00", "--since (2026-03-10 14:00:00) is still to come: nothing is logged after it yet."},
		// Today's date with an hour to come is today's, as "today 14:00",
		// not last year's, which would list a year of others' records.
		{"10 mar 14:00", "--since (2026-03-10 14:00:00) is still to come: nothing is logged after it yet."},
	} {
		t.Run(tc.since, func(t *testing.T) {
			checkFailure(t, e.run("admin", "audit", "--since", tc.since), true, exitUsage, tc.want)
		})
	}
	if out := e.ok("admin", "audit", "--since", "today", "--until", "2027-01-01", "--json"); out == "[]\n" || out == "" {
		t.Errorf("--until to come: %q", out)
	}
}
