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
		// shared: North's add is given --shared-phone (a household of two
		// movers on one landline): the other group's record on the number
		// is named all the same.
		shared bool
		note   string // the note's end, after the South record's id and status
	}{
		{name: "offer waiting", south: "offer", note: `\(active, 1 offer waiting\): the matcher takes the two records for two people, and may send one person to two places at once\. If they have moved to north-mutual-aid, end that record: doorstep volunteer delete SOUTH`},
		{name: "on hold", south: "hold", note: `\(on hold\): the hold stops that record only\. If it is the same person, hold this one too until the concern is settled: doorstep volunteer hold NORTH`},
		{name: "json", south: "offer", json: true, note: `\(active, 1 offer waiting\)`},
		{name: "shared phone", south: "offer", shared: true, note: `\(active, 1 offer waiting\): the matcher takes the two records for two people`},
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
			if tc.shared {
				extra = append(extra, "--shared-phone")
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

// TestEditOrgSaysWhatToDo: after the merge, North's coordinator moves
// Callum to North with volunteer edit --org, as they would change
// anything else, and a request likewise. The answer was only that there is
// no --org option, and neither help nor README said what to do instead:
// an organisation is fixed at registration. The answer now says so, that
// matching crosses organisations, so nothing need move for the work to
// reach them, and, for a volunteer, the one way to list them with another
// group and what the new record does not carry.
func TestEditOrgSaysWhatToDo(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"volunteer", "edit", callum, "--org", "north-mutual-aid"},
			"There is no --org option: a volunteer stays with the organisation they were registered with. Matching crosses organisations, " +
				"so they are offered any group's requests in reach as they are. To list them with another group, register them there " +
				"(doorstep volunteer add --org ORG) and end this record (doorstep volunteer delete ID): the new record starts afresh, " +
				"without whom they have helped, their jobs this week, the offers they declined, their dates away or their app's token."},
		{[]string{"request", "edit", req, "--org=north-mutual-aid"},
			"There is no --org option: a request stays with the organisation that took it. Matching crosses organisations, " +
				"and staff see every group's requests, so it is offered and handled as it is; a partner's token reads its own organisation's only."},
	} {
		checkFailure(t, e.run(tc.args...), true, exitUsage, tc.want)
	}
	for _, help := range [][]string{{"volunteer", "edit", "--help"}, {"request", "edit", "--help"}} {
		if out := e.ok(help...); !strings.Contains(strings.Join(strings.Fields(out), " "), "organisation cannot be changed") {
			t.Errorf("doorstep %s does not say the organisation cannot be changed:\n%s", strings.Join(help, " "), out)
		}
	}
}
