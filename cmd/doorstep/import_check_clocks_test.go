package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestImportCheckWindowInSkippedHour: a row whose window_start and
// window_end both lie in the hour the clocks skip (01:15-01:45 on Sunday
// 29 March 2026) reads as an empty window, both ends the moment the clocks
// passed them. --check passed it, and once sent the server refused it as
// "The end time must be after start_time", which a partner reading 01:15
// to 01:45 in their sheet could not make sense of. It now fails at the
// check as the same time in the when column does, saying why.
func TestImportCheckWindowInSkippedHour(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "clocks.csv")
	data := "External ID,Postcode,Needs,Window_Start,Window_End,Name,Phone\n" +
		"k-1,AB10 1AF,dog walking,2026-03-29T01:15,2026-03-29T01:45,Tam,07700 900601\n" +
		"k-2,AB10 1AF,dog walking,2026-03-29T01:15,01:45,Meg,07700 900602\n" +
		"k-3,AB10 1AF,dog walking,2026-03-29T00:30,2026-03-29T01:30,Ian,07700 900603\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--check"}, nil} {
		r := e.run(append([]string{"import", path, "--org", org}, args...)...)
		for _, want := range []string{
			`line 2: The window "2026-03-29T01:15" to "2026-03-29T01:45" is in the hour the clocks skip on Sun 29 Mar: at 01:00 they go forward to 02:00.`,
			`line 3: The window "2026-03-29T01:15" to "01:45" is in the hour the clocks skip on Sun 29 Mar: at 01:00 they go forward to 02:00.`,
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("import %v printed:\n%s\nwant a line with %q", args, r.stdout, want)
			}
		}
		if strings.Contains(r.stdout, "line 4") {
			t.Errorf("import %v printed:\n%s\nwant line 4, 00:30 to 02:00, taken", args, r.stdout)
		}
	}
	if got := e.storedRequests(store.HelpRequestFilter{}); len(got) != 1 || got[0].ExternalId != "k-3" {
		t.Errorf("stored %v, want k-3 alone", got)
	}
}
