package main

import (
	"strings"
	"testing"
)

// TestImportJSONLErrorsNameItsFields: a JSONL file has fields, not
// columns, but a row the server refused was described by a CSV's columns
// ("column window_start", "Give the address's coordinates (column lat,
// lng)"), which a partner's JSONL export does not have. Its rows are
// named by their own fields.
func TestImportJSONLErrorsNameItsFields(t *testing.T) {
	e := newTestEnv(t)
	file := writeImportFile(t, "nightly.jsonl",
		`{"external_id": "j-1", "needs": ["NEED_FOOD_PARCEL"], "deadline": "2026-03-11T17:00:00Z", "location": {"postcode": "AB99 9ZZ"}, "requester": {"display_name": "Ian", "phone": "07700 900111"}}`+"\n"+
			`{"external_id": "j-2", "needs": ["NEED_HOT_MEAL"], "window": {"start_time": "2026-03-01T12:00:00Z", "end_time": "2026-03-01T13:00:00Z"}, "location": {"postcode": "AB10 1AF"}, "requester": {"display_name": "Elsie", "phone": "07700 900222"}}`+"\n")
	r := e.run("import", file, "--org", org)
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, exitFailed, r.stderr)
	}
	for _, want := range []string{"Give the address's coordinates (location.lat_lng)", "(window.end_time)."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("printed:\n%s\nwant %q in it", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, "column") {
		t.Errorf("printed:\n%s\nwhich names a column the JSONL file does not have", r.stdout)
	}
}
