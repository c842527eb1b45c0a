package client_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/internal/readmetest"
)

// TestREADMESnippetCompiles: the README's Go client snippet is what a
// partner copies first; each line is type-checked as the body of a
// function, with the names it takes from around it (ctx, token, req, id,
// rows, last) declared, so that a line that would not compile (a name
// assigned before it is declared, a call with the wrong arguments) is
// caught here and not by the partner.
func TestREADMESnippetCompiles(t *testing.T) {
	rest := readmetest.Section(t, "Go client package")
	_, rest, ok := strings.Cut(rest, "```go\n")
	if !ok {
		t.Fatal("the Go client package section has no Go snippet")
	}
	snippet, _, _ := strings.Cut(rest, "```")
	src := `package snippet

import (
	"context"
	"crypto/tls"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func use(ctx context.Context, token string, req *pb.HelpRequest, id string, rows []*pb.HelpRequest, last int64) {
	_ = tls.Config{}
	_ = pb.HelpRequest{}
	_ = client.WatchOptions{}
` + snippet + `
}
`
	// The packages' export data, as the go command built them for this
	// test: type-checking grpc from source would take seconds.
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}",
		"crypto/tls", "github.com/doorstep-aid/doorstep/client").Output()
	if err != nil {
		t.Skipf("go list -export: %v", err)
	}
	exports := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if path, file, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			exports[path] = file
		}
	}
	lookup := func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "README.go", src, 0)
	if err != nil {
		t.Fatalf("the README's snippet does not parse: %v", err)
	}
	conf := types.Config{
		Importer: importer.ForCompiler(fset, "gc", lookup),
		Error: func(err error) {
			if te, ok := err.(types.Error); ok && strings.Contains(te.Msg, "declared and not used") {
				return // a snippet shows calls, not what is done with their results
			}
			t.Errorf("the README's snippet: %v", err)
		},
	}
	_, _ = conf.Check("snippet", fset, []*ast.File{f}, nil)
}
