package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAuditLimitMetExactlySaysNoMore: admin audit --actor system --limit 2
// with exactly two records of the system's, older records of others' after
// them in the log, told the admin "there are more: give a larger --limit",
// and a larger --limit showed the same two: the page was full, and the
// server's token to go on said only that the log went on, not that
// anything in it matched.
func TestAuditLimitMetExactlySaysNoMore(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"table", nil},
		{"json", []string{"--json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.asAdmin()
			var recs []*pb.AuditRecord
			for i := range 3 {
				recs = append(recs, &pb.AuditRecord{Actor: "tokens/01kk00000000000000000000aa", Action: "read", Resource: fmt.Sprintf("helpRequests/01kk%022d", i)})
			}
			for i := range 2 {
				recs = append(recs, &pb.AuditRecord{Actor: "system", Action: "purge", Resource: fmt.Sprintf("helpRequests/01kk%022d", i), Fields: []string{"requester"}})
			}
			for _, r := range recs {
				if err := e.st.RecordAudit(context.Background(), []*pb.AuditRecord{r}); err != nil {
					t.Fatal(err)
				}
			}
			r := e.run(append([]string{"admin", "audit", "--actor", "system", "--limit", "2"}, tc.args...)...)
			if r.code != 0 || strings.Count(r.stdout, "purge") != 2 {
				t.Fatalf("exit %d; stdout %q; stderr %q", r.code, r.stdout, r.stderr)
			}
			if out := r.stdout + r.stderr; strings.Contains(out, "there are more") {
				t.Errorf("both system records shown, and it says %q", out)
			}
		})
	}
}
