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

// TestTableWidthSoftHyphenAndJamo: two more kinds of name put their row
// out of line. A soft hyphen (U+00AD, in a name copied from a web page or
// a word processor) is a format character, taken as taking no column,
// but terminals show it as a hyphen (glibc's wcwidth and GLib's, which
// GNOME's terminal goes by, give it one); a Korean name typed
// decomposed, as macOS sends it, is a leading consonant (two columns)
// then a vowel and a final consonant drawn into the same square, which
// were each counted as one. The status column must start under its
// heading.
func TestTableWidthSoftHyphenAndJamo(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols int
	}{
		{"Anne\u00adMarie", 10},
		{"\u1100\u1175\u11b7", 2},                                // 김, decomposed
		{"\u1100\u1175\u11b7 \u1106\u1175\u11ab\u1109\u116e", 7}, // 김 민수
		{"\ud7b0", 0},
	} {
		if got := termWidth(tc.name); got != tc.cols {
			t.Errorf("termWidth(%q) = %d, want %d", tc.name, got, tc.cols)
		}
	}
	var b strings.Builder
	tb := newTable(&b)
	tb.row("NAME", "STATUS")
	tb.row("Anne\u00adMarie", "active")
	tb.row("\u1100\u1175\u11b7", "active")
	tb.row("Ann", "active")
	_ = tb.flush()
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		// What a terminal shows before "active": jamo after the first of a
		// syllable take none, a soft hyphen one.
		before := l[:strings.Index(l, "active")]
		col := 0
		for _, r := range before {
			switch {
			case r >= 0x1100 && r <= 0x115f:
				col += 2
			case r >= 0x1160 && r <= 0x11ff:
			default:
				col++
			}
		}
		if col != want {
			t.Errorf("row %q: STATUS column at %d, heading at %d:\n%s", l, col, want, b.String())
		}
	}
}
