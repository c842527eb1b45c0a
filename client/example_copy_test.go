package client_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// pkg.go.dev shows an example's body alone, and a partner copies it into
// a program of their own: a name it uses from this package's test files
// (a test server, a helper beside it) is undefined there, and the copy
// does not build.
func TestExamplesUseNothingOfTheTests(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	declared := map[string]bool{} // package-level names of client_test
	var examples []*ast.FuncDecl
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "client_test" {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					continue
				}
				if strings.HasPrefix(d.Name.Name, "Example") {
					examples = append(examples, d)
					continue
				}
				declared[d.Name.Name] = true
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							declared[n.Name] = true
						}
					case *ast.TypeSpec:
						declared[s.Name.Name] = true
					}
				}
			}
		}
	}
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, ex := range examples {
		local := localNames(ex.Body)
		used := map[string]bool{}
		ast.Inspect(ex.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				ast.Inspect(n.X, func(m ast.Node) bool {
					if id, ok := m.(*ast.Ident); ok && declared[id.Name] && !local[id.Name] {
						used[id.Name] = true
					}
					return true
				})
				return false // n.Sel names a field or method, not a test helper
			case *ast.KeyValueExpr:
				if _, ok := n.Key.(*ast.Ident); ok {
					ast.Inspect(n.Value, func(m ast.Node) bool {
						if id, ok := m.(*ast.Ident); ok && declared[id.Name] && !local[id.Name] {
							used[id.Name] = true
						}
						return true
					})
					return false // a field name in a composite literal
				}
			case *ast.Ident:
				if declared[n.Name] && !local[n.Name] {
					used[n.Name] = true
				}
			}
			return true
		})
		var names []string
		for n := range used {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			t.Errorf("%s uses %s of the tests: a partner's copy of it does not build", ex.Name.Name, strings.Join(names, ", "))
		}
	}
}

// localNames returns the names body declares for itself (with :=, var or
// const, or as a function literal's parameters), which may shadow the
// tests' own.
func localNames(body *ast.BlockStmt) map[string]bool {
	local := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						local[id.Name] = true
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						local[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				local[id.Name] = true
			}
		}
		return true
	})
	return local
}
