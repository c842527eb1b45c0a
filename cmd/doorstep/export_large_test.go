package main

import (
	"context"
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAdminExportOfALongTrail: every list of volunteers the helpline
// opens puts a read of each on record, so a volunteer of a few years has
// tens of thousands of audit records, all owed to them in an export, in
// one answer larger than gRPC takes by default (4 MB).
func TestAdminExportOfALongTrail(t *testing.T) {
	e := newTestEnv(t)
	req := e.newRequest()
	recs := make([]*pb.AuditRecord, 30000)
	for i := range recs {
		recs[i] = &pb.AuditRecord{Actor: "tokens/01jq3m7a1b2c3d4e5f6g7h8j9k", Role: pb.Role_ROLE_HELPLINE, Action: "read_contact", Resource: req,
			Fields: []string{"requester", "details", "location.address_lines", "vulnerability"}, Method: "/doorstep.v1.HelpRequestService/ListHelpRequests"}
	}
	if err := e.st.RecordAudit(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	e.asAdmin()
	r := e.run("admin", "export", "--phone", "01224 123456", "--json")
	if r.code != 0 || strings.Count(r.stdout, `"read_contact"`) < len(recs) {
		t.Errorf("export: exit %d, stderr %q, %d bytes out", r.code, r.stderr, len(r.stdout))
	}
}
