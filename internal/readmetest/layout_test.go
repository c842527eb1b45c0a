package readmetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayoutNamesEveryPackage: README's Layout is where a newcomer looks
// for the package that holds a rule; phone/, the one rule for a number
// that server, store and the client share, was missing from it, and the
// rule looked to live in server/ still. Every directory holding a Go
// package is a line of it.
func TestLayoutNamesEveryPackage(t *testing.T) {
	named := map[string]bool{}
	for _, line := range strings.Split(Section(t, "Layout"), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			named[strings.TrimSuffix(f[0], "/")] = true
		}
	}
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository's root: %v", err)
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if rel == "." || !holdsPackage(t, path) {
			return nil
		}
		if !named[filepath.ToSlash(rel)] && !named[filepath.ToSlash(filepath.Dir(rel))] {
			t.Errorf("README's Layout does not name %s/", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// holdsPackage says whether dir holds a Go file other than a test's.
func holdsPackage(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return true
		}
	}
	return false
}
