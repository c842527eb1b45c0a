package main

import (
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestImportStrayByteRowKeepsExternalID: a row refused for a byte that is
// not UTF-8 (a name pasted from another program into a UTF-8 file) came
// back in the --json report by its line alone, so the partner's script
// could not tell which of its records to mend; nor did it claim its
// external_id, so a later row with the same one was stored in its place,
// and the mended row, run again, was "already there" with the other's
// details.
func TestImportStrayByteRowKeepsExternalID(t *testing.T) {
	e := newTestEnv(t)
	file := writeImportFile(t, "nightly.csv", importHeader+
		"m-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Zoë,07700 900601\n"+
		"m-2,AB10 1AF,dog walking,tomorrow 10:00-12:00,Zo\xeb,07700 900602\n"+
		"m-2,AB10 1AB,dog walking,tomorrow 14:00-16:00,Meg,07700 900603\n")
	r := e.run("import", file, "--org", org, "--json")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, exitFailed, r.stderr)
	}
	got := importReport(t, r)
	want := map[int][2]string{2: {"m-1", "created"}, 3: {"m-2", "failed"}, 4: {"m-2", "failed"}}
	for _, o := range got {
		if w := want[o.Line]; o.ExternalID != w[0] || o.Outcome != w[1] {
			t.Errorf("line %d: %s with external_id %q, want %s with %q", o.Line, o.Outcome, o.ExternalID, w[1], w[0])
		}
	}
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 1 {
		t.Errorf("%d stored, want 1: line 4 repeats line 3's external_id", n)
	}
}
