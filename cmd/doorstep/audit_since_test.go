package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAdminAuditSinceUntil: a safeguarding lead looking into a complaint
// about Tuesday afternoon narrows the audit log to it with --since and
// --until, in the words staff use for days and times (UK time, as
// --when), read looking back: on Friday "tue" is the Tuesday gone, and a
// day alone runs to its end for --until. Filters combine with the range;
// --json and --linear keep their shape; a range that is empty or
// backward, or words that are not a time, are refused before anything is
// asked of the server.
func TestAdminAuditSinceUntil(t *testing.T) {
	e := newTestEnv(t)
	req := e.newRequest() // Tue 10 Mar 09:00
	e.clock.advance(testStart.Add(5 * time.Hour).Sub(e.clock.now()))
	e.ok("request", "show", req) // Tue 14:00
	e.clock.advance(testStart.Add(25 * time.Hour).Sub(e.clock.now()))
	e.ok("request", "show", req) // Wed 11 Mar 10:00
	e.clock.advance(testStart.Add(72 * time.Hour).Sub(e.clock.now()))
	e.asAdmin() // Fri 13 Mar 09:00

	const (
		created = "2026-03-10T09:00:00Z create"
		tue     = "2026-03-10T14:00:00Z read_contact"
		wed     = "2026-03-11T10:00:00Z read_contact"
	)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--since", "tue 14:00", "--until", "wed"}, []string{wed, tue}},
		{[]string{"--since", "Tuesday 2pm", "--until", "wed 10:00"}, []string{tue}}, // --until is not at it
		{[]string{"--since", "wed 10:00"}, []string{wed}},                           // --since is
		{[]string{"--since", "10 mar", "--until", "10 mar"}, []string{tue, created}},
		{[]string{"--since", "10/03", "--until", "11/3/2026"}, []string{wed, tue, created}},
		{[]string{"--since", "2026-03-10 09:00", "--until", "2026-03-10 14:00"}, []string{created}},
		{[]string{"--since", "3 days ago"}, []string{wed, tue, created}},
		{[]string{"--since", "yesterday"}, nil},
		{[]string{"--since", "yesterday 00:00", "--until", "now"}, nil},
		{[]string{"--until", "tue"}, []string{tue, created}},
		{[]string{"--since", "fri 10:00"}, []string{wed, tue, created}}, // last Friday's, not today's to come
		{[]string{"--since", "12 mar"}, nil},
		{[]string{"--until", "last wed 10:00"}, []string{tue, created}},
		{[]string{"--since", "tue", "--action", "read-contact", "--resource", req}, []string{wed, tue}},
		{[]string{"--since", "tue 12:00", "--until", "tue 23:00", "--action", "create"}, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ok := func(args ...string) string {
				r := e.run(append([]string{"admin", "audit"}, args...)...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				return r.stdout
			}
			var recs []struct{ Time, Action string }
			out := ok(append([]string{"--json"}, tc.args...)...)
			if err := json.Unmarshal([]byte(out), &recs); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.Time+" "+r.Action)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			table := ok(tc.args...)
			if len(tc.want) == 0 && table != "No audit records match.\n" || len(tc.want) > 0 && strings.Count(table, "\n") != len(tc.want)+1 {
				t.Errorf("as a table:\n%s\nwant %d rows", table, len(tc.want))
			}
		})
	}

	linear := e.ok("admin", "audit", "--since", "wed", "--linear")
	if !strings.Contains(linear, "2026-03-11 10:00:00") || strings.Contains(linear, "2026-03-10") {
		t.Errorf("--linear since wed:\n%s", linear)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "wed", "--until", "tue"},
			"--until (2026-03-11 00:00:00) is not after --since (2026-03-11 00:00:00): nothing is between them."},
		{[]string{"--since", "tue 14:00", "--until", "tue 13:00"},
			"--until (2026-03-10 13:00:00) is not after --since (2026-03-10 14:00:00): nothing is between them."},
		{[]string{"--since", "last thursdy"},
			`--since: cannot read "last thursdy" as a day or time: try "yesterday 14:00", "fri 9am", "20 nov 14:30", "2026-11-20 14:30", "3 hours ago" or "today".`},
		{[]string{"--until", "teatime"},
			`--until: cannot read "teatime" as a day or time: try "yesterday 14:00", "fri 9am", "20 nov 14:30", "2026-11-20 14:30", "3 hours ago" or "today".`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkFailure(t, e.run(append([]string{"admin", "audit"}, tc.args...)...), true, exitUsage, tc.want)
		})
	}
}
