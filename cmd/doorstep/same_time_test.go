package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameTimeNote is the line request new prints for another request of the
// caller's at the same time.
func sameTimeNote(name string) string {
	id := idOf(name)
	return "Note: the caller has another request for that time: " + id + ". If it is the same need, cancel one: doorstep request cancel " + id + "\n"
}

// TestRequestNewSameTime: a caller who rings twice about one need is
// saved twice, and the helpline is told of the first request, by id, with
// the way to cancel one; a request at another time says nothing.
func TestRequestNewSameTime(t *testing.T) {
	e := newTestEnv(t)
	first := e.newRequest()
	out := e.ok("request", "new", "--postcode", "AB10 1AB", "--needs", "grocery_shopping", "--when", "tomorrow 11:00-13:00",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	saved := firstName(t, out, "helpRequests")
	lines := strings.SplitAfter(out, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "Saved "+saved) || lines[1] != sameTimeNote(first) {
		t.Errorf("request new printed:\n%s\nwant after the Saved line: %s", out, sameTimeNote(first))
	}

	other := e.ok("request", "new", "--postcode", "AB10 1AB", "--needs", "grocery_shopping", "--when", "tomorrow 14:00-16:00",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	if strings.Contains(other, "Note:") {
		t.Errorf("a request at another time printed a note:\n%s", other)
	}

	// --json: stdout stays the request, the note goes to stderr.
	r := e.run("request", "new", "--postcode", "AB10 1AB", "--needs", "grocery_shopping", "--when", "tomorrow 10:30-11:30",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var hr map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &hr); err != nil || hr["name"] == nil {
		t.Fatalf("stdout is not the request's JSON (%v): %s", err, r.stdout)
	}
	if want := sameTimeNote(first) + sameTimeNote(saved); r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

// TestImportSameTime: an import's rows for one person at one time each
// get a note naming the other; a person's single row gets none.
func TestImportSameTime(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "twice.csv")
	csv := "external_id,postcode,needs,when,name,phone\n" +
		"ref-1,AB10 1AB,food_parcel,tomorrow 10:00-12:00,Ian Smith,07700 900111\n" +
		"ref-2,AB10 1AB,food_parcel,tomorrow 11:00-12:00,Ian Smith,07700 900111\n" +
		"ref-3,AB10 1AF,food_parcel,tomorrow 10:00-12:00,Elsie Gray,07700 900222\n"
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("import", path, "--org", org, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var outcomes []importOutcome
	if err := json.Unmarshal([]byte(r.stdout), &outcomes); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 3 {
		t.Fatalf("%d outcomes", len(outcomes))
	}
	one, two := outcomes[0].HelpRequest, outcomes[1].HelpRequest
	if got := outcomes[0].SameTimeRequests; len(got) != 1 || got[0] != two {
		t.Errorf("line 2 same_time_requests %v, want [%s]", got, two)
	}
	if got := outcomes[1].SameTimeRequests; len(got) != 1 || got[0] != one {
		t.Errorf("line 3 same_time_requests %v, want [%s]", got, one)
	}
	if got := outcomes[2].SameTimeRequests; len(got) != 0 {
		t.Errorf("line 4 same_time_requests %v, want none", got)
	}
	again := e.ok("import", path, "--org", org)
	note := func(line, name string) string {
		return "line " + line + ": Note: this person has another request for that time: " + idOf(name) +
			". If it is the same need, cancel one: doorstep request cancel " + idOf(name) + "\n"
	}
	if want := note("2", two) + note("3", one) + "0 created, 3 already there, 0 failed (3 rows).\n"; again != want {
		t.Errorf("import printed:\n%s\nwant:\n%s", again, want)
	}
}
