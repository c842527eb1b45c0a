package main

import (
	"strings"
	"testing"
)

// TestTimeoutNotAboveZero: --timeout 0 or a negative length meant no
// limit at all for most commands (a cron job that may hang for ever),
// and for admin backup an answer "did not answer within 0s ... may have
// been written all the same" for a call never sent. Either way the
// operator's mistake went unsaid.
func TestTimeoutNotAboveZero(t *testing.T) {
	e := newTestEnv(t)
	e.asAdmin()
	for _, tc := range [][]string{
		{"request", "list", "--timeout", "0"},
		{"request", "list", "--timeout", "-1s"},
		{"admin", "backup", "--timeout", "0s"},
		{"--timeout", "-5m", "dispatch"},
	} {
		r := e.run(tc...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--timeout") {
			t.Errorf("doorstep %s: exit %d, stderr %q; want %d naming --timeout", strings.Join(tc, " "), r.code, r.stderr, exitUsage)
		}
	}
}
