package main

import (
	"encoding/json"
	"testing"
)

// TestImportJSONFailedRowsKeepExternalID: a partner's script reconciles
// the --json report with its own records by external_id; a row that
// failed before it was sent (a bad phone, an external_id repeated) came
// back with its line alone, so the script could not tell which of its
// records to mend.
func TestImportJSONFailedRowsKeepExternalID(t *testing.T) {
	e := newTestEnv(t)
	file := writeImportFile(t, "nightly.csv", importHeader+
		"ok-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam,07700 900601\n"+
		"bad-phone,AB10 1AB,dog walking,tomorrow 10:00-12:00,Meg,123\n"+
		"ok-1,AB10 1AF,dog walking,tomorrow 14:00-16:00,Ian,07700 900602\n")
	r := e.run("import", file, "--org", org, "--json")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, exitFailed, r.stderr)
	}
	got := importReport(t, r)
	want := map[int]string{2: "ok-1", 3: "bad-phone", 4: "ok-1"}
	for _, o := range got {
		if o.ExternalID != want[o.Line] {
			t.Errorf("line %d (%s): external_id %q, want %q", o.Line, o.Outcome, o.ExternalID, want[o.Line])
		}
	}
}

// importReport is the --json report an import printed on r's stdout.
func importReport(t *testing.T, r result) []importOutcome {
	t.Helper()
	var got []importOutcome
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, r.stdout)
	}
	return got
}
