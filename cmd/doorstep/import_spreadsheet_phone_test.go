package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportSaysWhatTheSpreadsheetDidToAPhone: a group keeps its callers
// in a spreadsheet and saves it as CSV; unless the phone column was
// formatted as text, Excel took each number for a number, dropping its
// leading 0 or +, or writing it in scientific form. Every such row was
// refused as "not a phone number", which the coordinator, seeing the
// numbers in the sheet, could not act on. Each refusal says what happened
// and how to mend the column.
func TestImportSaysWhatTheSpreadsheetDidToAPhone(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "callers.csv")
	rows := "external_id,postcode,needs,name,phone,when\n" +
		"c1,AB10 1AB,grocery_shopping,Ann,7700900123,tomorrow 10:00-12:00\n" +
		"c2,AB10 1AB,grocery_shopping,Bea,1224123456,tomorrow 10:00-12:00\n" +
		"c3,AB10 1AB,grocery_shopping,Cat,447700900123,tomorrow 10:00-12:00\n" +
		"c4,AB10 1AB,grocery_shopping,Dot,7.7009E+09,tomorrow 10:00-12:00\n" +
		"c5,AB10 1AB,grocery_shopping,Eve,12345,tomorrow 10:00-12:00\n"
	if err := os.WriteFile(path, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("import", path, "--org", org)
	for _, want := range []string{
		`line 2: Phone "7700900123" has lost its leading 0 (07700 900123), as a spreadsheet drops it from numbers: format the phone column as text and put the 0 back.`,
		`line 3: Phone "1224123456" has lost its leading 0 (01224 123456)`,
		`line 4: Phone "447700900123" has lost its leading + (07700 900123)`,
		`line 5: Phone "7.7009E+09" was written by a spreadsheet in scientific form, which loses digits: format the phone column as text and type the numbers again.`,
		`line 6: Phone "12345" is not a phone number.`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doorstep import: exit %d, stdout:\n%s\nwant a line %q", r.code, r.stdout, want)
		}
	}
	if r.code != exitFailed {
		t.Errorf("doorstep import exit %d, want %d", r.code, exitFailed)
	}
}
