package server_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestExportTrailNamedInCapitals: ids are taken in either case, so a
// helpline may correct a caller's record naming it in capitals (copied
// from a printout). The change is on the person's trail all the same:
// the export, and the audit log filtered by the record, tell of it.
func TestExportTrailNamedInCapitals(t *testing.T) {
	h := newHarness(t)
	hr := validHelpRequest()
	hr.Requester.Phone = "07700 900777"
	mine := h.createHR(hr)
	caps := "helpRequests/" + strings.ToUpper(strings.TrimPrefix(mine.Name, "helpRequests/"))
	upd := &pb.HelpRequest{Name: caps, Details: "Milk and bread only"}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"details"}}}); err != nil {
		t.Fatal(err)
	}
	admin := pb.NewAdminServiceClient(h.conn)
	exp, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "07700 900777"})
	if err != nil {
		t.Fatal(err)
	}
	updated := false
	for _, r := range exp.AuditRecords {
		updated = updated || r.Action == "update"
	}
	if !updated {
		t.Errorf("export trail %v: want the update of the details", exp.AuditRecords)
	}
	list, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: mine.Name, Action: "update"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.AuditRecords) != 1 {
		t.Errorf("audit records of %s's updates: %v, want the one", mine.Name, list.AuditRecords)
	}
}
