package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestVolunteerHoldNamesTheirRecordWithAnotherGroup: after a complaint
// about Aileen's visit, the safeguarding lead holds her South record at
// once. She helps North too, registered there on the same number before
// the groups shared a server, and matching crosses organisations: her
// North record went on being offered jobs, the complainant's next
// request among them, while the hold said nothing of it. The hold now
// names each other group's record on the number not already held, and
// the command that holds it.
func TestVolunteerHoldNamesTheirRecordWithAnotherGroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		north string // "" (no North record), "active" or "held"
		json  bool
	}{
		{name: "active with another group", north: "active"},
		{name: "json", north: "active", json: true},
		{name: "held with another group already", north: "held"},
		{name: "nobody else on the number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			add := func(org string) string {
				return firstName(t, e.ok("volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
					"--available", "daily 08:00-20:00", "--org", org), "volunteers")
			}
			south := add("south-mutual-aid")
			var north string
			if tc.north != "" {
				north = add("north-mutual-aid")
				if tc.north == "held" {
					e.ok("volunteer", "hold", north)
				}
			}
			args := []string{"volunteer", "hold", south}
			if tc.json {
				args = append(args, "--json")
			}
			r := e.run(args...)
			if r.code != 0 {
				t.Fatalf("hold on South: exit %d, %s", r.code, r.stderr)
			}
			notes := r.stdout
			if tc.json {
				var v struct{ Name string }
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Name != south {
					t.Fatalf("--json output is not the volunteer alone: %v\n%s", err, r.stdout)
				}
				notes = r.stderr
			}
			if tc.north != "active" {
				if strings.Contains(notes, "Note:") {
					t.Errorf("a note with no other record to hold:\n%s", notes)
				}
				return
			}
			want := "Note: Aileen Watt, with north-mutual-aid, has this number too, as " + idOf(north) + " (active): " +
				"the hold stops this record only, and matching, which crosses organisations, can still offer that one jobs. " +
				"If it is the same person, hold it too: doorstep volunteer hold " + idOf(north) + "\n"
			if !strings.Contains(notes, want) {
				t.Errorf("the hold on South said:\n%s\nwant the line\n%s", notes, want)
			}
		})
	}
}
