package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

func writeImportFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const importHeader = "external_id,postcode,needs,when,name,phone\n"

// TestImportFilesAsSaved: files as Windows tools and spreadsheets save
// them import as their senders meant. A byte order mark (before a quoted
// header too, as PowerShell's Export-Csv writes, or before a JSONL file's
// first line) is dropped; a CSV in Windows-1252, as Excel saves "CSV", is
// decoded with a note; rows of bare separators left by cleared spreadsheet
// rows are skipped; a JSONL organisation in capitals is --org.
func TestImportFilesAsSaved(t *testing.T) {
	jsonRow := func(fields string) string {
		return `{` + fields + `"needs": ["NEED_FOOD_PARCEL"], "deadline": "2026-03-11T17:00:00Z", "location": {"postcode": "AB10 1AB"}, "requester": {"display_name": "Ian", "phone": "07700 900111"}}` + "\n"
	}
	cases := []struct {
		name, file, data string
		stored           int
		names            []string // requester names stored, where it matters
		stderr           string   // what stderr must contain
	}{
		{name: "csv BOM quoted header", file: "bom.csv", stored: 1,
			data: "\ufeff\"external_id\",\"postcode\",\"needs\",\"when\",\"name\",\"phone\"\r\n" +
				"\"bom-1\",\"AB10 1AB\",\"dog walking\",\"tomorrow 10:00-12:00\",\"Tam\",\"07700 900601\"\r\n"},
		{name: "csv Windows-1252", file: "cp1252.csv", stored: 3, names: []string{"Zoë", "“Meg”"}, stderr: "read as Windows-1252",
			data: importHeader +
				"l1-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam,07700 900601\n" +
				"l1-2,AB10 1AF,dog walking,tomorrow 10:00-12:00,Zo\xeb,07700 900602\n" +
				"l1-3,AB10 1AB,dog walking,tomorrow 14:00-16:00,\x93Meg\x94,07700 900603\n"},
		{name: "csv cleared spreadsheet rows", file: "sheet.csv", stored: 1,
			data: importHeader +
				"sp-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam,07700 900601\n" +
				",,,,,\n" +
				" , , , , , \n"},
		{name: "jsonl BOM", file: "bom.jsonl", stored: 1, data: "\ufeff" + jsonRow(`"external_id": "j-1", `)},
		{name: "jsonl organisation in capitals", file: "case.jsonl", stored: 1,
			data: jsonRow(`"organisation": " ` + strings.ToUpper(org[:1]) + org[1:] + `", "external_id": "jc-1", `)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			r := e.run("import", writeImportFile(t, tc.file, tc.data), "--org", org)
			if r.code != 0 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d; stdout %q; stderr %q, want it to say %q", r.code, r.stdout, r.stderr, tc.stderr)
			}
			got := e.storedRequests(store.HelpRequestFilter{})
			if len(got) != tc.stored {
				t.Fatalf("%d requests stored, want %d", len(got), tc.stored)
			}
			for _, name := range tc.names {
				found := false
				for _, hr := range got {
					found = found || hr.GetRequester().GetDisplayName() == name
				}
				if !found {
					t.Errorf("no request stored for %q", name)
				}
			}
		})
	}
}

// TestImportFilesRowFaults: a row is refused alone, by its line, where
// the file itself is at fault: bytes that are not UTF-8 in a file that is
// otherwise UTF-8 (so not Windows-1252), or an external_id an earlier
// line has, even a line that was itself refused. The others are stored,
// and the report does not ask for a re-run that could never finish.
func TestImportFilesRowFaults(t *testing.T) {
	cases := []struct {
		name, data string
		stored     int
		stdout     string
	}{
		{name: "stray byte in UTF-8", stored: 2,
			data: importHeader +
				"m-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Zoë,07700 900601\n" +
				"m-2,AB10 1AF,dog walking,tomorrow 10:00-12:00,Zo\xeb,07700 900602\n" +
				"m-3,AB10 1AB,dog walking,tomorrow 14:00-16:00,Meg,07700 900603\n",
			stdout: `line 3: Column name is not valid UTF-8 text: save the file as "CSV UTF-8" and import it again.`},
		{name: "repeated external_id", stored: 1,
			data: importHeader +
				"d-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam,07700 900601\n" +
				" d-1 ,AB10 1AF,dog walking,tomorrow 10:00-12:00,Tam,07700 900602\n",
			stdout: `line 3: external_id "d-1" is on line 2 already: only the first row with an external_id counts`},
		{name: "repeated external_id of a bad row", stored: 0,
			data: importHeader +
				"d-1,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam,12\n" +
				"d-1,AB10 1AF,dog walking,tomorrow 10:00-12:00,Tam,07700 900602\n",
			stdout: `line 3: external_id "d-1" is on line 2 already`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			path := writeImportFile(t, "rows.csv", tc.data)
			check := e.run("import", path, "--org", org, "--check")
			r := e.run("import", path, "--org", org)
			for _, r := range []result{check, r} {
				if r.code != exitFailed || !strings.Contains(r.stdout, tc.stdout) || strings.Contains(r.stderr, "Run the same file again to finish it") || strings.Contains(r.stderr, "Note:") {
					t.Errorf("exit %d; stdout %q; stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, exitFailed, tc.stdout)
				}
			}
			if n := len(e.storedRequests(store.HelpRequestFilter{})); n != tc.stored {
				t.Errorf("%d requests stored, want %d", n, tc.stored)
			}
		})
	}
}
