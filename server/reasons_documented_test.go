package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryReasonIsDocumented: a partner integrating in another language
// has the protos and the README, not this package, and switches on the
// ErrorInfo reasons it is told are stable. Each one the server can send
// must be written down where it can read it. Several (REQUEST_ID_REUSED,
// INVALID_PAGE_TOKEN, VOLUNTEER_PAUSED, TOO_MANY_STREAMS...) were only
// constants in server/.
func TestEveryReasonIsDocumented(t *testing.T) {
	var docs strings.Builder
	for _, pattern := range []string{"../README.md", "../proto/doorstep/v1/*.proto"} {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v", pattern, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs.Write(b)
		}
	}
	fset := token.NewFileSet()
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	reasons := 0
	for _, path := range sources {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				reason, _ := strconv.Unquote(lit.Value)
				reasons++
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(reason) + `\b`).MatchString(docs.String()) {
					t.Errorf("%s (%s, %s) is in neither README.md nor the protos", reason, name.Name, fset.Position(name.Pos()))
				}
			}
			return true
		})
	}
	if reasons < 30 {
		t.Fatalf("found only %d reasons: has the code moved?", reasons)
	}
}
