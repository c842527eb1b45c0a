// Package readmetest reads the repository's README.md for the tests that
// hold its tables (doorstepd's flags, the helpline client's flags, the
// metrics) to the code: each reads a section's table rows and the
// `code` spans in their cells the same way, so they agree on what a row is.
package readmetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Section returns the text of README.md under "## heading", up to the
// next "## " heading. README.md is found in the nearest directory up from
// the test's own that holds go.mod.
func Section(t testing.TB, heading string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
	raw, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## "+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", "## "+heading)
	}
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	return section
}

// Rows returns the table rows of section whose first cell starts with
// prefix (such as "`--"), each split into its cells, the text before the
// first "|" and after the last dropped. A row with fewer than cells cells
// fails the test, naming what a row should hold (want).
func Rows(t testing.TB, section, prefix string, cells int, want string) [][]string {
	t.Helper()
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| "+prefix) {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < cells+2 {
			t.Fatalf("README row %q: want %s", line, want)
		}
		rows = append(rows, cols[1:len(cols)-1])
	}
	return rows
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// Code returns the `code` spans of a cell, in order, without their
// backquotes.
func Code(cell string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}
