package main

import (
	"strings"
	"testing"
	"time"
)

// TestImportChangedReadsWhenAsOfItsStoring: a file's when column says
// "tomorrow 10:00-12:00" or "until 17:30". Run again to finish a stopped
// import a minute on, or the next night, each such row stored already
// was said to hold another time than the file's, "if the file is right,
// change the request": followed, the visit moved a day, or the urgent
// help's start to a minute later, with nothing changed in the file. Words
// read relative to the day are not said to differ for being read on
// another; a time the file itself changed is, as is one in dates.
func TestImportChangedReadsWhenAsOfItsStoring(t *testing.T) {
	e := newTestEnv(t)
	file := writeImportFile(t, "nightly.csv", importHeader+
		"n-1,AB10 1AB,food parcel,tomorrow 10:00-12:00,Tam,07700 900601\n"+
		"n-2,AB10 1AB,food parcel,until 17:30,Meg,07700 900602\n"+
		"n-3,AB10 1AB,food parcel,2026-03-12 10:00-12:00,Ian,07700 900603\n")
	if r := e.run("import", file, "--org", org); r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, after := range []time.Duration{time.Minute, 15 * time.Hour} {
		e.clock.advance(after)
		if r := e.run("import", file, "--org", org); r.code != 0 || strings.Contains(r.stdout, "stored already") {
			t.Errorf("the same file %s on: exit %d, printed\n%s", after, r.code, r.stdout)
		}
	}
	changed := writeImportFile(t, "changed.csv", importHeader+
		"n-1,AB10 1AB,food parcel,tomorrow 14:00-16:00,Tam,07700 900601\n"+
		"n-3,AB10 1AB,food parcel,2026-03-12 14:00-16:00,Ian,07700 900603\n")
	r := e.run("import", changed, "--org", org)
	for _, want := range []string{"line 3: stored already", "in column when"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("a time changed in dates printed:\n%s\nwant %q in it", r.stdout, want)
		}
	}
}
