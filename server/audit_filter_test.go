package server_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestAuditFiltersAreChecked: a filter of ListAuditRecords that can
// match nothing (a mistyped record name or action) is refused, naming the
// field, rather than answered with an empty log that reads as "nobody
// touched this record"; a record's name with its id in capitals, which
// every Get accepts, finds that record's trail.
func TestAuditFiltersAreChecked(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	hr := h.createHR(validHelpRequest())
	if _, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		req   *pb.ListAuditRecordsRequest
	}{
		{"resource", &pb.ListAuditRecordsRequest{Resource: strings.Replace(hr.Name, "helpRequests/", "helprequest/", 1)}},
		{"resource", &pb.ListAuditRecordsRequest{Resource: "helpRequests/123"}},
		{"actor", &pb.ListAuditRecordsRequest{Actor: "token/01arz3ndektsv4rrffq69g5fav"}},
		{"action", &pb.ListAuditRecordsRequest{Action: "read-contact"}},
	} {
		resp, err := admin.ListAuditRecords(h.ctx, tc.req)
		if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{tc.field}) {
			t.Errorf("%v: %d records, %v; want INVALID_ARGUMENT on %s", tc.req, len(resp.GetAuditRecords()), err, tc.field)
		}
	}
	id := strings.TrimPrefix(hr.Name, "helpRequests/")
	resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: "helpRequests/" + strings.ToUpper(id), Action: "read_contact"})
	if err != nil || len(resp.AuditRecords) != 1 {
		t.Errorf("the trail of %s by its id in capitals: %v %v, want its one read", hr.Name, resp, err)
	}
}
