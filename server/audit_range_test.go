package server_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// auditNames follows every page of a ListAuditRecords call, newest first.
func auditNames(t *testing.T, h *harness, admin pb.AdminServiceClient, req *pb.ListAuditRecordsRequest) (names []string, pages int) {
	t.Helper()
	for {
		resp, err := admin.ListAuditRecords(h.ctx, req)
		if err != nil {
			t.Fatalf("ListAuditRecords(%v): %v", req, err)
		}
		pages++
		for _, r := range resp.AuditRecords {
			names = append(names, r.Name)
		}
		if req.PageToken = resp.NextPageToken; req.PageToken == "" {
			return names, pages
		}
	}
}

// TestAuditTimeRange: a safeguarding lead reconstructing the hour around
// a complaint narrows the audit log to it, alone or with the other
// filters, rather than paging back from the newest record through
// months of others'. The start is inclusive and the end exclusive, to
// the millisecond; a range is paged through like any listing, its pages
// bound to it; a backward or empty range, or a timestamp that is not
// one, is refused naming the field, and reading changes nothing.
func TestAuditTimeRange(t *testing.T) {
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	h := newHarnessWithClock(t, clock)
	admin := pb.NewAdminServiceClient(h.conn)
	deskName := "tokens/"
	desk := pb.NewHelpRequestServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_HELPLINE})))
	tokens, err := admin.ListTokens(h.ctx, &pb.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens.Tokens {
		if tok.DisplayName == "desk" {
			deskName = tok.Name
		}
	}
	a, b := h.createHR(validHelpRequest()), h.createHR(validHelpRequest())
	clock.advance(time.Hour)
	start := clock.now()
	end := start.Add(time.Hour)
	// Reads of each request, by the harness's admin and by the desk, a
	// millisecond either side of each bound and on it.
	for _, at := range []time.Time{start.Add(-time.Millisecond), start, end.Add(-time.Millisecond), end, end.Add(time.Minute)} {
		clock.advance(at.Sub(clock.now()))
		for _, hr := range []string{a.Name, b.Name} {
			if _, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr}); err != nil {
				t.Fatal(err)
			}
			if _, err := desk.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// want is every record of the log the filters keep, newest first.
	want := func(req *pb.ListAuditRecordsRequest) []string {
		var out []string
		for _, r := range all.AuditRecords {
			at := r.Time.AsTime()
			if (req.StartTime == nil || !at.Before(req.StartTime.AsTime())) && (req.EndTime == nil || at.Before(req.EndTime.AsTime())) &&
				(req.Actor == "" || r.Actor == req.Actor) && (req.Resource == "" || r.Resource == req.Resource) && (req.Action == "" || r.Action == req.Action) {
				out = append(out, r.Name)
			}
		}
		return out
	}
	from, to := timestamppb.New(start), timestamppb.New(end)
	for _, tc := range []struct {
		name string
		req  *pb.ListAuditRecordsRequest
		n    int // records wanted: of 4 reads at each time, 2 at start and at end less 1ms
	}{
		{"range", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to}, 8},
		{"range and actor", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to, Actor: deskName}, 4},
		{"range and resource", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to, Resource: a.Name}, 4},
		{"range, resource and actor", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to, Resource: b.Name, Actor: deskName}, 2},
		{"range and action", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to, Action: "read_contact"}, 8},
		{"range and another action", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to, Action: "create"}, 0},
		{"from the start on", &pb.ListAuditRecordsRequest{StartTime: from}, 16},
		{"up to the end", &pb.ListAuditRecordsRequest{EndTime: to}, 12 + 2}, // the two creates too
		{"a range with nothing", &pb.ListAuditRecordsRequest{StartTime: timestamppb.New(start.Add(time.Millisecond)), EndTime: timestamppb.New(start.Add(time.Minute))}, 0},
		{"one millisecond", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: timestamppb.New(start.Add(time.Millisecond))}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := want(tc.req)
			if len(w) != tc.n {
				t.Fatalf("the log holds %d such records, want %d", len(w), tc.n)
			}
			got, _ := auditNames(t, h, admin, tc.req)
			if !slices.Equal(got, w) {
				t.Errorf("got %v, want %v", got, w)
			}
			// A page at a time: the same, nothing twice.
			one := sameFilters(tc.req)
			one.PageSize = 1
			if got, pages := auditNames(t, h, admin, one); !slices.Equal(got, w) || len(w) > 1 && pages < len(w) {
				t.Errorf("a page at a time: %v in %d pages, want %v", got, pages, w)
			}
		})
	}

	// A page token is bound to its range.
	first, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{StartTime: from, EndTime: to, PageSize: 1})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	other := &pb.ListAuditRecordsRequest{StartTime: from, EndTime: timestamppb.New(end.Add(time.Hour)), PageSize: 1, PageToken: first.NextPageToken}
	if _, err := admin.ListAuditRecords(h.ctx, other); codeOf(err) != codes.InvalidArgument {
		t.Errorf("a range's token with another range: %v, want INVALID_ARGUMENT", err)
	}

	for _, tc := range []struct {
		name, field string
		req         *pb.ListAuditRecordsRequest
	}{
		{"end at start", "end_time", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: from}},
		{"end before start", "end_time", &pb.ListAuditRecordsRequest{StartTime: to, EndTime: from}},
		{"start in milliseconds", "start_time", &pb.ListAuditRecordsRequest{StartTime: &timestamppb.Timestamp{Seconds: start.UnixMilli()}}},
		{"end's nanos", "end_time", &pb.ListAuditRecordsRequest{StartTime: from, EndTime: &timestamppb.Timestamp{Seconds: end.Unix(), Nanos: -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := admin.ListAuditRecords(h.ctx, tc.req)
			if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{tc.field}) {
				t.Errorf("%d records, %v; want INVALID_ARGUMENT on %s", len(resp.GetAuditRecords()), err, tc.field)
			}
		})
	}
	after, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{PageSize: 1000})
	if err != nil || len(after.AuditRecords) != len(all.AuditRecords) {
		t.Errorf("after the listings the log holds %d records (%v), want %d as before", len(after.GetAuditRecords()), err, len(all.AuditRecords))
	}
}

// sameFilters is a request with r's filters and nothing else.
func sameFilters(r *pb.ListAuditRecordsRequest) *pb.ListAuditRecordsRequest {
	return &pb.ListAuditRecordsRequest{StartTime: r.StartTime, EndTime: r.EndTime, Actor: r.Actor, Resource: r.Resource, Action: r.Action}
}
