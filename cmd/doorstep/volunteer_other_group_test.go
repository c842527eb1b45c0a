package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestVolunteerAddNamesTheirRecordWithAnotherGroup: two neighbouring
// groups share a server and merge, and Aileen, a South volunteer, moves
// to North. A volunteer's organisation cannot be changed, so North's
// helpline registers her again. Her South record holds an offer for
// Wednesday 10:00-12:00; the matcher takes the new record for someone
// else and dispatch offers it a job at the same time at another door:
// one person sent to two places at once. Held on South after a concern,
// she was as good as unheld on North. Another group's volunteer on the
// number stays no bar (someone may help two groups), but the add now
// names each such record, what it holds, and the command that ends it
// (she has moved) or holds the new one (a concern).
func TestVolunteerAddNamesTheirRecordWithAnotherGroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		south string // "offer", "hold" or "" (no South record)
		json  bool
		note  string // the note's end, after the South record's id and status
	}{
		{name: "offer waiting", south: "offer", note: `\(active, 1 offer waiting\): the matcher takes the two records for two people, and may send one person to two places at once\. If they have moved to north-mutual-aid, end that record: doorstep volunteer delete SOUTH`},
		{name: "on hold", south: "hold", note: `\(on hold\): the hold stops that record only\. If it is the same person, hold this one too until the concern is settled: doorstep volunteer hold NORTH`},
		{name: "json", south: "offer", json: true, note: `\(active, 1 offer waiting\)`},
		{name: "nobody else on the number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			add := func(org string, extra ...string) string {
				args := append([]string{"volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
					"--available", "daily 08:00-20:00", "--org", org}, extra...)
				return e.ok(args...)
			}
			var south string
			if tc.south != "" {
				south = firstName(t, add("south-mutual-aid"), "volunteers")
				req := e.newRequest("--org", "south-mutual-aid")
				e.env["DOORSTEP_TOKEN"] = e.coordinator
				e.ok("offer", "make", req, south)
				if tc.south == "hold" {
					e.ok("volunteer", "hold", south)
				}
				e.env["DOORSTEP_TOKEN"] = e.helpline
			}
			var extra []string
			if tc.json {
				extra = []string{"--json"}
			}
			r := e.run(append([]string{"volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
				"--available", "daily 08:00-20:00", "--org", "north-mutual-aid"}, extra...)...)
			if r.code != 0 {
				t.Fatalf("add on North: exit %d, %s", r.code, r.stderr)
			}
			notes := r.stdout
			var north string
			if tc.json {
				var v struct{ Name string }
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
					t.Fatalf("--json output is not the volunteer alone: %v\n%s", err, r.stdout)
				}
				north, notes = v.Name, r.stderr
			} else {
				north = firstName(t, r.stdout, "volunteers")
				if r.stderr != "" {
					t.Errorf("stderr %q", r.stderr)
				}
			}
			if tc.note == "" {
				if strings.Contains(notes, "Note:") {
					t.Errorf("a note with nobody else on the number:\n%s", notes)
				}
				return
			}
			want := `(?m)^Note: Aileen Watt, with south-mutual-aid, has this number too, as ` + idOf(south) + ` ` + tc.note
			want = strings.NewReplacer("SOUTH", idOf(south), "NORTH", idOf(north)).Replace(want)
			if !regexp.MustCompile(want).MatchString(notes) {
				t.Errorf("the add on North said:\n%s\nwant a line matching %s", notes, want)
			}
		})
	}
}
