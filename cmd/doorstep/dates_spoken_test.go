package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestDBSDatesInWords: every date the command shows is in words ("Tue 1
// Dec", "Sat 2 Jan 2027") but a DBS check's, "basic until 2028-03-31",
// which a screen reader reads as "2028 minus 03 minus 31" and a worker
// must turn into a day in their head. The check's last day, and the day
// it expired, are said as the others are, with the year.
func TestDBSDatesInWords(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		expires, show, note string
	}{
		{"2028-03-31", "DBS check: basic until Fri 31 Mar 2028", ""},
		{"2026-12-01", "DBS check: basic until Tue 1 Dec 2026", ""},
		{"2025-01-01", "DBS check: basic, expired Wed 1 Jan 2025",
			"Note: their DBS check expired on Wed 1 Jan 2025: until it is renewed they count as unchecked (doorstep volunteer edit --dbs-expires).\n"},
	} {
		t.Run(tc.expires, func(t *testing.T) {
			r := e.run("volunteer", "add", "--name", "Morag Smith", "--phone", "07700 900125", "--postcode", "AB10 1AB", "--shared-phone",
				"--dbs", "basic", "--dbs-expires", tc.expires, "--available", "fri 10-17", "--org", org)
			if r.code != 0 || r.stderr != tc.note {
				t.Fatalf("volunteer add: exit %d, stderr %q, want %q", r.code, r.stderr, tc.note)
			}
			out := e.ok("volunteer", "show", firstName(t, r.stdout, "volunteers"), "--linear")
			if !strings.Contains(out, "\n"+tc.show+"\n") {
				t.Errorf("volunteer show:\n%s\nwant %q", out, tc.show)
			}
			if m := regexp.MustCompile(`\d{4}-\d\d-\d\d`).FindString(out); m != "" {
				t.Errorf("volunteer show says a date as %s:\n%s", m, out)
			}
		})
	}
}
