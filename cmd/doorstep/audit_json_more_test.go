package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAuditJSONSaysWhenMoreMatch: the table of admin audit says when
// --limit cut it short; under --json nothing did, so a nightly export of
// the audit log piped to a file lost its older records without a word.
func TestAuditJSONSaysWhenMoreMatch(t *testing.T) {
	e := newTestEnv(t)
	e.asAdmin()
	recs := make([]*pb.AuditRecord, 3)
	for i := range recs {
		recs[i] = &pb.AuditRecord{Actor: "system", Action: "purge", Resource: fmt.Sprintf("helpRequests/01kk%022d", i), Fields: []string{"requester"}}
	}
	if err := e.st.RecordAudit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	r := e.run("admin", "audit", "--actor", "system", "--limit", "2", "--json")
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil || len(got) != 2 {
		t.Fatalf("exit %d, %d records (%v); stdout %q", r.code, len(got), err, r.stdout)
	}
	if !strings.Contains(r.stderr, "more") || !strings.Contains(r.stderr, "--limit") {
		t.Errorf("stderr %q does not say that more records match", r.stderr)
	}
}
