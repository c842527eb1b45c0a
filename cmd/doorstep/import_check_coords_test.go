package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportCheckCoordinates: --check is how a partner finds bad rows
// before sending anything, so it must refuse the coordinates the server
// refuses: 0, 0 (a missing value in a spreadsheet) and off Earth. Passed by
// --check, such rows failed only once sent.
func TestImportCheckCoordinates(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "coords.csv")
	data := "External ID,Postcode,Needs,Window_Start,Window_End,Name,Phone,Lat,Lng\n" +
		"c-1,AB99 9ZZ,dog walking,2026-03-11T09:00,2026-03-11T10:00,Tam,07700 900601,0,0\n" +
		"c-2,AB10 1AF,dog walking,2026-03-11T09:00,2026-03-11T10:00,Meg,07700 900602,91,-2.1\n" +
		"c-3,AB10 1AF,dog walking,2026-03-11T09:00,2026-03-11T10:00,Ian,07700 900603,57.14,-2.1\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("import", path, "--org", org, "--check")
	for _, want := range []string{
		"line 2: Lat and lng are 0, 0, which is what missing coordinates read as: give the address's coordinates, or leave both empty for the postcode's centre",
		"line 3: Lat must be from -90 to 90 and lng from -180 to 180",
		"Checked 3 rows: 1 can be sent, 2 failed. Nothing was sent.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import --check printed:\n%s\nwant a line with %q", r.stdout, want)
		}
	}
}

// TestImportCheckCoordinatesJSONL: a JSONL export from a partner's system
// writes every field it has, and a missing place as "lat_lng": {} or
// zeros. --check passed such rows, and every one failed once sent; it
// now fails them as it fails a CSV's, and off-Earth ones too.
func TestImportCheckCoordinatesJSONL(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "coords.jsonl")
	row := func(id, latLng string) string {
		return `{"external_id": "` + id + `", "needs": ["NEED_FOOD_PARCEL"], "deadline": "2026-03-11T17:00:00Z", ` +
			`"location": {"postcode": "AB10 1AB", "lat_lng": ` + latLng + `}, "requester": {"display_name": "Ian", "phone": "07700 900111"}}` + "\n"
	}
	data := row("j-1", `{}`) + row("j-2", `{"latitude": 0, "longitude": 0}`) + row("j-3", `{"latitude": 91, "longitude": -2.1}`) +
		row("j-4", `{"latitude": 57.14, "longitude": -2.1}`)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("import", path, "--org", org, "--check")
	for _, want := range []string{
		"line 1: location.lat_lng is 0, 0, which is what missing coordinates read as: give the address's coordinates, or leave lat_lng out for the postcode's centre.",
		"line 2: location.lat_lng is 0, 0, which",
		"line 3: location.lat_lng must have latitude from -90 to 90 and longitude from -180 to 180.",
		"Checked 4 rows: 1 can be sent, 3 failed. Nothing was sent.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import --check printed:\n%s\nwant a line with %q", r.stdout, want)
		}
	}
}

// TestImportCheckJSONLAsCSV: --check of a JSONL file finds the slips a
// CSV's finds (a postcode or phone that cannot be one, no name, no needs,
// no time), rather than passing rows the server refuses once sent.
func TestImportCheckJSONLAsCSV(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "slips.jsonl")
	good := map[string]string{
		"needs": `["NEED_FOOD_PARCEL"]`, "deadline": `"2026-03-11T17:00:00Z"`,
		"location": `{"postcode": "AB10 1AB"}`, "requester": `{"display_name": "Ian", "phone": "07700 900111"}`,
	}
	row := func(id, field, value string) string {
		parts := []string{`"external_id": "` + id + `"`}
		for _, k := range []string{"needs", "deadline", "location", "requester"} {
			v := good[k]
			if k == field {
				v = value
			}
			if v != "" {
				parts = append(parts, `"`+k+`": `+v)
			}
		}
		return "{" + strings.Join(parts, ", ") + "}\n"
	}
	data := row("s-1", "location", `{"postcode": "XYZ"}`) +
		row("s-2", "requester", `{"display_name": "Ian", "phone": "12345"}`) +
		row("s-3", "requester", `{"phone": "07700 900111"}`) +
		row("s-4", "needs", "") +
		row("s-5", "deadline", "") +
		row("s-6", "", "")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("import", path, "--org", org, "--check")
	for _, want := range []string{
		`line 1: location.postcode "XYZ" is not a UK postcode.`,
		`line 2: requester.phone "12345" is not a phone number.`,
		"line 3: requester.display_name is empty.",
		"line 4: needs is empty: say what is needed.",
		"line 5: say when: give window or deadline.",
		"Checked 6 rows: 1 can be sent, 5 failed. Nothing was sent.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import --check printed:\n%s\nwant a line with %q", r.stdout, want)
		}
	}
}
