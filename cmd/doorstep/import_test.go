package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestImportCSV: bad rows are reported by their line in the file (a
// quoted field spanning two lines included), whether the file itself or
// the server found the fault; a second run creates nothing new.
func TestImportCSV(t *testing.T) {
	e := newTestEnv(t)
	r := e.run("import", "testdata/import.csv", "--org", org)
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, exitFailed, r.stderr)
	}
	golden(t, "import_csv", r.stdout)
	golden(t, "import_csv_stderr", r.stderr)
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 3 {
		t.Fatalf("%d requests stored, want 3", n)
	}

	again := e.run("import", "testdata/import.csv", "--org", org)
	if again.code != exitFailed {
		t.Fatalf("re-run: exit %d, want %d", again.code, exitFailed)
	}
	golden(t, "import_csv_rerun", again.stdout)
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 3 {
		t.Fatalf("after the re-run %d requests are stored, want still 3", n)
	}
	multi := e.storedRequests(store.HelpRequestFilter{Phone: "+447700900222"})
	if len(multi) != 1 || multi[0].Details != "Soft food only:\nno nuts, no fish" || multi[0].ExternalId != "fb-0003" {
		t.Errorf("the row with a two-line field was stored as %v", multi)
	}
}

func TestImportJSONL(t *testing.T) {
	e := newTestEnv(t)
	r := e.run("import", "testdata/import.jsonl", "--org", org, "--json")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, exitFailed, r.stderr)
	}
	golden(t, "import_jsonl", r.stdout)
	var outcomes []importOutcome
	if err := json.Unmarshal([]byte(r.stdout), &outcomes); err != nil {
		t.Fatal(err)
	}
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 2 {
		t.Fatalf("%d requests stored, want 2", n)
	}
	again := e.run("import", "testdata/import.jsonl", "--org", org)
	golden(t, "import_jsonl_rerun", again.stdout)
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 2 {
		t.Fatalf("after the re-run %d requests are stored, want still 2", n)
	}
}

// TestImportAllGood exits 0, and --check sends nothing.
func TestImportAllGood(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "good.csv")
	data := "External ID,Postcode,Needs,Window_Start,Window_End,Name,Phone\n" +
		"g-1,AB10 1AB,dog walking,2026-03-11T09:00,2026-03-11T10:00,Tam,07700 900601\n" +
		"g-2,AB10 1AF,1;2,tomorrow 14:00,16:00,Meg,07700 900602\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("import", path, "--org", org, "--check"); out != "Checked 2 rows: 2 can be sent, 0 failed. Nothing was sent.\n" {
		t.Errorf("--check printed %q", out)
	}
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 0 {
		t.Fatalf("--check stored %d requests", n)
	}
	if out := e.ok("import", path, "--org", org); out != "2 created, 0 already there, 0 failed (2 rows).\n" {
		t.Errorf("import printed %q", out)
	}
	got := e.storedRequests(store.HelpRequestFilter{Phone: "+447700900602"})
	if len(got) != 1 || got[0].GetWindow().GetStartTime().AsTime().Hour() != 14 || len(got[0].Needs) != 2 {
		t.Errorf("g-2 stored as %v", got)
	}
}
