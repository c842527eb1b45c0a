package main

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

// termColumns is how many columns a terminal gives s, for the text these
// tests print: Chinese characters take two, a combining accent none.
func termColumns(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			n += 2
		case unicode.Is(unicode.Mn, r):
		default:
			n++
		}
	}
	return n
}

// TestTablesAlignWideAndAccentedNames: a group's volunteers and callers
// are named in Chinese, or in accents typed as a letter and a combining
// mark (what macOS and some web forms send: "Zoe" and U+0308). Every
// column after the name must start where its heading does, as staff
// read the postcode and status of each row across from the heading.
func TestTablesAlignWideAndAccentedNames(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	people := []struct{ name, phone string }{
		{"Callum Reid", "07700 900123"},
		{"王秀英", "07700 900124"},
		{"Zoe\u0308 Smith", "07700 900125"},
		{"Nguye\u0302\u0303n Va\u0306n An", "07700 900126"},
		{"Siobhán O'Neill", "07700 900127"},
	}
	for _, p := range people {
		e.ok("volunteer", "add", "--name", p.name, "--phone", p.phone, "--postcode", "AB10 1AF", "--available", "daily 08:00-20:00", "--org", org)
		e.clock.advance(time.Second)
	}
	for _, tc := range []struct {
		args    []string
		heading string
	}{
		{[]string{"volunteer", "list", "--near", "AB10"}, "POSTCODE"},
		{[]string{"volunteer", "find", "--phone", "07700 900124"}, "STATUS"},
		{[]string{"volunteer", "find", "--phone", "07700 900125"}, "STATUS"},
	} {
		out := e.ok(tc.args...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		at := strings.Index(lines[0], tc.heading)
		if at < 0 {
			t.Fatalf("doorstep %s: no heading %s:\n%s", strings.Join(tc.args, " "), tc.heading, out)
		}
		want := termColumns(lines[0][:at])
		for _, line := range lines[1:] {
			if !strings.HasPrefix(line, "01") {
				continue // a sentence after the table
			}
			cells := strings.Fields(line)
			var col int
			switch tc.heading {
			case "STATUS":
				col = termColumns(line[:strings.Index(line, "active")])
			default:
				col = termColumns(line[:strings.Index(line, "AB10 1AF")])
			}
			if col != want {
				t.Errorf("doorstep %s: a row's %s column starts at column %d, its heading at %d (%s):\n%s",
					strings.Join(tc.args, " "), tc.heading, col, want, cells[1], out)
			}
		}
	}
}
