package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestListPageCutResumesUnderFiltersAndWrites lists requests whose pages
// are cut short for size, under each filter that walks its own index or
// order (by id, by postcode, the live requests at a postcode sorted in
// memory, by organisation, by phone), with writes between pages: a
// request created, one not yet listed deleted, one already listed edited.
// Every request stored throughout is to be listed once, the deleted one
// never, and a read of personal data put on record for each request a
// page held, none for one read to size a page and left out of it.
func TestListPageCutResumesUnderFiltersAndWrites(t *testing.T) {
	const rows = 700 // some 8 KB each: two pages at least
	for _, tc := range []struct {
		name string
		req  *pb.ListHelpRequestsRequest
	}{
		{"no filter", &pb.ListHelpRequestsRequest{}},
		{"district", &pb.ListHelpRequestsRequest{Postcode: "AB10"}},
		{"district, in hand", &pb.ListHelpRequestsRequest{Postcode: "AB10", States: []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED}}},
		{"organisation, open", &pb.ListHelpRequestsRequest{Organisation: "aberdeen-mutual-aid", State: pb.HelpRequest_STATE_OPEN}},
		{"requester phone", &pb.ListHelpRequestsRequest{RequesterPhone: "01224 123456"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0))
			stored := fillLongRequests(h, rows)
			start := time.Now()
			seen := map[string]int{}
			var deleted, edited string
			token, pages := "", 0
			for {
				req := proto.CloneOf(tc.req)
				req.PageSize, req.PageToken = 1000, token
				resp, err := h.hr.ListHelpRequests(h.ctx, req)
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				for _, r := range resp.GetHelpRequests() {
					seen[r.GetName()]++
				}
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
				if pages == 1 {
					if n := len(resp.GetHelpRequests()); n == 0 || n >= rows {
						t.Fatalf("the first page held %d of %d requests: not cut for size", n, rows)
					}
					edited = resp.GetHelpRequests()[0].GetName()
					deleted = stored[len(stored)-1]
					if _, err := h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: deleted}); err != nil {
						t.Fatal(err)
					}
					if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
						HelpRequest: &pb.HelpRequest{Name: edited, Details: bengali(1999)},
						UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}}}); err != nil {
						t.Fatal(err)
					}
					h.createHR(longRequest("late"))
				}
			}
			if pages < 2 {
				t.Fatalf("%d page(s): no page was cut", pages)
			}
			for _, name := range stored {
				switch {
				case name == deleted && seen[name] != 0:
					t.Errorf("%s, deleted before its page, was listed", name)
				case name != deleted && seen[name] != 1:
					t.Errorf("%s was listed %d times, want once", name, seen[name])
				}
			}
			// Reads on record for the list calls: one for each request a
			// page held, whichever were read to size a page.
			read := map[string]int{}
			admin := pb.NewAdminServiceClient(h.conn)
			for atoken := ""; ; {
				resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{PageSize: 1000, PageToken: atoken,
					Action: "read_contact", StartTime: timestamppb.New(start.Add(-time.Second))})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range resp.GetAuditRecords() {
					if strings.HasSuffix(r.GetMethod(), "/ListHelpRequests") {
						read[r.GetResource()]++
					}
				}
				if atoken = resp.GetNextPageToken(); atoken == "" {
					break
				}
			}
			for name, n := range seen {
				if read[name] != n {
					t.Errorf("%s: listed %d times, %d reads on record", name, n, read[name])
				}
			}
			for name, n := range read {
				if seen[name] == 0 {
					t.Errorf("%s: %d reads on record, never listed", name, n)
				}
			}
			t.Logf("%d requests in %d pages", len(seen), pages)
		})
	}
}

// longRequest is a request of some 8 KB: its details, street, address
// lines and requester's name in Bengali at their limits.
func longRequest(id string) *pb.HelpRequest {
	hr := validHelpRequest()
	hr.Details = bengali(2000)
	hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(48 * time.Hour))}
	hr.ExternalId = id
	hr.Location.AddressLines = []string{bengali(100), bengali(100), bengali(100), bengali(100)}
	hr.Requester.DisplayName = bengali(100)
	return hr
}

// fillLongRequests stores n long requests and returns their names, in
// the order made.
func fillLongRequests(h *harness, n int) []string {
	h.t.Helper()
	var names []string
	for b := 0; len(names) < n; b++ {
		req := &pb.BatchCreateHelpRequestsRequest{}
		for i := 0; i < 100 && len(names)+i < n; i++ {
			req.HelpRequests = append(req.HelpRequests, longRequest(fmt.Sprintf("long-%d-%d", b, i)))
		}
		names = append(names, h.batchCreate(req)...)
	}
	return names
}
