package main

import (
	"strings"
	"testing"
)

// TestTokenFromFileWithLineEnd: a token kept in a file edited on Windows,
// or an EnvironmentFile with CRLF lines, reaches the command with a
// carriage return or newline after it. The command said "The server
// failed: header key ... non-printable ASCII characters" and exited 1,
// when the server was never asked, and the token is good.
func TestTokenFromFileWithLineEnd(t *testing.T) {
	e := newTestEnv(t)
	good := e.helpline
	for _, tc := range []struct {
		name string
		env  string
		args []string
	}{
		{"env CR", good + "\r", nil},
		{"env CRLF", good + "\r\n", nil},
		{"env LF", good + "\n", nil},
		{"flag CR", "", []string{"--token", good + "\r"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.env["DOORSTEP_TOKEN"] = tc.env
			r := e.run(append([]string{"request", "list", "--json"}, tc.args...)...)
			if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}
