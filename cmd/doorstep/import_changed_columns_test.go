package main

import (
	"slices"
	"strings"
	"testing"
)

// TestImportChangedNamesOnlyTheFilesColumns: a partner's nightly CSV has
// no urgency, street or skills column; staff raised a request's urgency,
// added its street and a skill it needs. Every night after, the unchanged
// row was said to hold other values "in columns skills, urgency, street"
// (columns the file does not have), to be changed with doorstep request
// edit: staff's triage undone by the partner following the advice. A
// column the file lacks says nothing and differs from nothing; a time set
// by window_start and window_end, or coordinates, are named by the
// file's own columns, one each.
func TestImportChangedNamesOnlyTheFilesColumns(t *testing.T) {
	e := newTestEnv(t)
	const header = "external_id,postcode,lat,lng,needs,window_start,window_end,name,phone\n"
	file := writeImportFile(t, "nightly.csv", header+
		"n-1,AB10 1AB,,,food parcel,2026-03-12T10:00,2026-03-12T12:00,Tam,07700 900601\n"+
		"n-2,AB10 1AB,57.1441,-2.1144,food parcel,2026-03-12T10:00,2026-03-12T12:00,Meg,07700 900602\n")
	got := importReport(t, e.run("import", file, "--org", org, "--json"))
	if len(got) != 2 || got[0].Outcome != "created" {
		t.Fatalf("day 1: %+v", got)
	}
	id := strings.TrimPrefix(got[0].HelpRequest, "helpRequests/")
	if r := e.run("request", "edit", id, "--urgency", "high", "--street", "Union Street", "--skills", "driver", "--circumstances", "1"); r.code != 0 {
		t.Fatalf("edit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := e.run("import", file, "--org", org)
	if strings.Contains(r.stdout, "line 2:") || strings.Contains(r.stdout, "other details") {
		t.Errorf("the same file again printed:\n%s\nwhich names columns the file does not have", r.stdout)
	}

	changed := writeImportFile(t, "changed.csv", header+
		"n-1,AB10 1AB,,,food parcel,2026-03-12T10:00,2026-03-12T12:00,Tam,07700 900601\n"+
		"n-2,AB10 1AB,57.1442,-2.1145,food parcel,2026-03-12T14:00,2026-03-12T16:00,Meg,07700 900602\n")
	for _, o := range importReport(t, e.run("import", changed, "--org", org, "--json")) {
		want := map[string][]string{"n-2": {"lat", "lng", "window_end", "window_start"}}[o.ExternalID] // sorted
		slices.Sort(o.Differing)
		if o.Outcome != "existing" || !slices.Equal(o.Differing, want) {
			t.Errorf("%s: %s, differing %q; want existing, differing %q", o.ExternalID, o.Outcome, o.Differing, want)
		}
	}
}
