package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestImportSaysWhatChangedSinceStored: a partner's nightly file repeats
// yesterday's rows, one with the client's new phone number and another
// with a different need. Both were counted "already there" and the import
// exited 0, the new number and need dropped without a word. The import
// still stores nothing over them, but names each such line and the
// columns that differ from what is stored, and how to change it; a row
// sent again unchanged says nothing.
func TestImportSaysWhatChangedSinceStored(t *testing.T) {
	e := newTestEnv(t)
	const header = "external_id,postcode,needs,window_start,window_end,name,phone,details\n"
	day1 := header +
		"n-1,AB10 1AB,food parcel,2026-03-12T10:00,2026-03-12T12:00,Tam,07700 900601,\"Ring twice,\r\nthen wait\"\n" +
		"n-2,AB10 1AF,food parcel,2026-03-12T10:00,2026-03-12T12:00,Meg,07700 900602,\n" +
		"n-3,ab10 1af,food parcel;hot meal,2026-03-12T10:00,2026-03-12T12:00,Ian,07700 900603,\n"
	if r := e.run("import", writeImportFile(t, "day1.csv", day1), "--org", org); r.code != 0 {
		t.Fatalf("day 1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.clock.advance(24 * time.Hour)
	day2 := header +
		"n-1,AB10 1AB,food parcel,2026-03-12T10:00,2026-03-12T12:00,Tam,+44 7700 900601,\"Ring twice,\r\nthen wait\"\n" +
		"n-2,AB10 1AF,food parcel,2026-03-12T10:00,2026-03-12T12:00,Meg,07700 900999,\n" +
		"n-3,AB10 1AF,hot meal,2026-03-12T10:00,2026-03-12T12:00,Ian,07700 900603,\n"
	file := writeImportFile(t, "day2.csv", day2)
	r := e.run("import", file, "--org", org)
	if r.code != 0 {
		t.Fatalf("day 2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"line 4:", "column phone", "line 5:", "column needs", "doorstep request edit", "3 already there (2 with other details, not applied)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("day 2 printed:\n%s\nwant %q in it", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, "line 2:") {
		t.Errorf("day 2 printed:\n%s\nline 2 (to 3) is yesterday's row, unchanged", r.stdout)
	}
	got := importReport(t, e.run("import", file, "--org", org, "--json"))
	want := map[string][]string{"n-1": nil, "n-2": {"phone"}, "n-3": {"needs"}}
	for _, o := range got {
		if o.Outcome != "existing" || !slices.Equal(o.Differing, want[o.ExternalID]) {
			t.Errorf("%s: %s, differing %q; want existing, differing %q", o.ExternalID, o.Outcome, o.Differing, want[o.ExternalID])
		}
	}
}
