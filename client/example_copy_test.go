package client_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// pkg.go.dev shows an example's body alone, and a partner copies it into
// a program of their own: a name it uses from this package's test files
// (a test server, a helper beside it) is undefined there, and the copy
// does not build.
func TestExamplesUseNothingOfTheTests(t *testing.T) {
	names, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	used := testNamesUsed(files)
	if len(used) == 0 {
		t.Fatal("no examples found")
	}
	for ex, names := range used {
		if len(names) > 0 {
			t.Errorf("%s uses %s of the tests: a partner's copy of it does not build", ex, strings.Join(names, ", "))
		}
	}
}

// testNamesUsed returns, for each example in files (the package's test
// files), the names it uses that the test files declare: those of
// client_test, and those that package client declares in its own test
// files (export_test.go), which the package a partner imports lacks.
func testNamesUsed(files []*ast.File) map[string][]string {
	declared := map[string]bool{} // package-level names of client_test
	internal := map[string]bool{} // package-level names of client's test files
	type example struct {
		fn     *ast.FuncDecl
		client string // the name the example's file imports client as
	}
	var examples []example
	for _, f := range files {
		names := declared
		switch f.Name.Name {
		case "client_test":
		case "client":
			names = internal
		default:
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					continue
				}
				if f.Name.Name == "client_test" && strings.HasPrefix(d.Name.Name, "Example") {
					examples = append(examples, example{d, clientImportName(f)})
					continue
				}
				names[d.Name.Name] = true
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name != "_" { // var _ = ...: checks, no name to use
								names[n.Name] = true
							}
						}
					case *ast.TypeSpec:
						names[s.Name.Name] = true
					}
				}
			}
		}
	}
	result := map[string][]string{}
	for _, ex := range examples {
		local := localNames(ex.fn.Body)
		used := map[string]bool{}
		ast.Inspect(ex.fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == ex.client && !local[id.Name] && internal[n.Sel.Name] {
					used[id.Name+"."+n.Sel.Name] = true
				}
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
		names := []string{}
		for n := range used {
			names = append(names, n)
		}
		sort.Strings(names)
		result[ex.fn.Name.Name] = names
	}
	return result
}

// clientImportName is the name file f imports this package as.
func clientImportName(f *ast.File) string {
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) != "github.com/doorstep-aid/doorstep/client" {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return "client"
	}
	return ""
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

// TestExampleCopyCheck holds the check above to what it must find: what
// the examples of each case use of the tests, or nothing.
func TestExampleCopyCheck(t *testing.T) {
	const header = "package client_test\n\nimport (\n\t\"context\"\n\n\tdoorstep \"github.com/doorstep-aid/doorstep/client\"\n)\n\n"
	internal := "package client\n\nimport \"testing\"\n\nfunc SetKeepaliveForTest(t *testing.T) {}\n\nvar InternalForTest = 1\n"
	helpers := header + "func exampleServer() string { return \"\" }\n\ntype testServer struct{ token string }\n\nvar _ = context.Background\n"
	for _, tc := range []struct {
		name, example string
		want          []string
	}{
		{"a helper of client_test", "func Example() { _ = exampleServer() }", []string{"exampleServer"}},
		{"a type of client_test, in a literal", "func Example() { _ = []testServer{{token: \"\"}} }", []string{"testServer"}},
		{"a function of client's own test files", "func Example() { doorstep.SetKeepaliveForTest(nil) }", []string{"doorstep.SetKeepaliveForTest"}},
		{"a variable of client's own test files", "func Example() { _ = doorstep.InternalForTest }", []string{"doorstep.InternalForTest"}},
		{"the package itself", "func Example() { _, _ = doorstep.Dial(context.Background(), \"\") }", []string{}},
		{"a local shadowing a helper", "func Example() { exampleServer := 1; _ = exampleServer }", []string{}},
		{"a field named as a helper", "func Example() { _ = struct{ exampleServer int }{exampleServer: 1} }", []string{}},
		{"a local shadowing the package", "func Example() { doorstep := struct{ InternalForTest int }{}; _ = doorstep.InternalForTest }", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fset := token.NewFileSet()
			var files []*ast.File
			for i, src := range []string{internal, helpers, header + tc.example + "\n"} {
				f, err := parser.ParseFile(fset, fmt.Sprintf("f%d_test.go", i), src, parser.SkipObjectResolution)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			got := testNamesUsed(files)
			if !reflect.DeepEqual(got, map[string][]string{"Example": tc.want}) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
