package main

import (
	"strings"
	"testing"
)

// TestImportChangedOnClosedOrErasedSaysSo: a partner's row changed since
// its request was cancelled, or its person's data erased, was said to
// differ "if the file is right, change the request (doorstep request edit
// ID)": the edit of the erased one was refused (PERSONAL_DATA_REMOVED),
// and the cancelled one is never matched again, its time not to be
// edited either. The line says what became of the request and that a
// new request needs a new external_id.
func TestImportChangedOnClosedOrErasedSaysSo(t *testing.T) {
	e := newTestEnv(t)
	const header = "external_id,postcode,needs,window_start,window_end,name,phone\n"
	day1 := writeImportFile(t, "day1.csv", header+
		"n-1,AB10 1AB,food parcel,2026-03-12T10:00,2026-03-12T12:00,Tam,07700 900601\n"+
		"n-2,AB10 1AB,food parcel,2026-03-12T10:00,2026-03-12T12:00,Meg,07700 900602\n")
	got := importReport(t, e.run("import", day1, "--org", org, "--json"))
	if r := e.run("request", "cancel", strings.TrimPrefix(got[1].HelpRequest, "helpRequests/")); r.code != 0 {
		t.Fatalf("cancel: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	partner := e.env["DOORSTEP_TOKEN"]
	e.asAdmin()
	if r := e.run("admin", "erase", "--phone", "07700 900601", "--yes"); r.code != 0 {
		t.Fatalf("erase: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.env["DOORSTEP_TOKEN"] = partner
	day2 := writeImportFile(t, "day2.csv", header+
		"n-1,AB10 1AB,hot meal,2026-03-12T10:00,2026-03-12T12:00,Tam,07700 900601\n"+
		"n-2,AB10 1AB,food parcel,2026-03-12T14:00,2026-03-12T16:00,Meg,07700 900602\n")
	r := e.run("import", day2, "--org", org)
	if strings.Contains(r.stdout, "doorstep request edit") {
		t.Errorf("printed:\n%s\nwhich advises an edit of a request erased or cancelled", r.stdout)
	}
	for _, want := range []string{"line 2: stored already", "its personal data was erased", "line 3: stored already", "it is cancelled, so it is never matched again", "new external_id"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("printed:\n%s\nwant %q in it", r.stdout, want)
		}
	}
}
