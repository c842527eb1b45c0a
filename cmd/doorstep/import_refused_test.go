package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestImportRefusedSaysNotSent: a nightly import run with a token revoked
// (or mistyped, or of a role that may not import) is turned away before
// the server reads a row. It reported the first batch's rows as
// "unconfirmed: they may be stored", so a script reconciling the report
// held them as perhaps stored when the server had stored none; they were
// not sent.
func TestImportRefusedSaysNotSent(t *testing.T) {
	e := newTestEnv(t)
	var rows strings.Builder
	rows.WriteString(importHeader)
	for i := range 3 {
		fmt.Fprintf(&rows, "ref-%d,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam %d,07700 90%04d\n", i, i, 700+i)
	}
	file := writeImportFile(t, "nightly.csv", rows.String())
	e.env["DOORSTEP_TOKEN"] = "ds_" + strings.Repeat("x", 43) // no such token
	r := e.run("import", file, "--org", org, "--json")
	if r.code == 0 {
		t.Fatalf("exit 0 with a wrong token; stderr %q", r.stderr)
	}
	if got := len(e.storedRequests(store.HelpRequestFilter{})); got != 0 {
		t.Fatalf("%d stored, want none", got)
	}
	got := importReport(t, r)
	for _, o := range got {
		if o.Outcome != "not_sent" {
			t.Errorf("line %d is reported %q, want not_sent: the server refused the call", o.Line, o.Outcome)
		}
	}
}
