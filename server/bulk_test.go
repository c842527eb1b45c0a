package server_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func bulkRow(ext string) *pb.HelpRequest {
	hr := validHelpRequest()
	hr.Organisation = "granite-city-foodbank"
	hr.ExternalId = ext
	hr.Needs = []pb.Need{pb.Need_NEED_FOOD_PARCEL}
	hr.RequiredSkills = nil
	return hr
}

func TestBatchCreateHelpRequests(t *testing.T) {
	h := newHarness(t)
	rows := []*pb.HelpRequest{bulkRow("fb-1"), bulkRow("fb-2"), bulkRow("fb-3"), bulkRow(""), bulkRow("fb-5"), bulkRow("fb-6")}
	rows[2].Location.Postcode = "AB99 9ZZ" // well formed, but not in the gazetteer
	rows[4].Needs = nil
	rows[4].Requester.Phone = "12"
	rows[5].Organisation = ""
	type want struct {
		code   string
		reason string
		fields []string
	}
	wants := []want{{}, {}, {"INVALID_ARGUMENT", "UNKNOWN_POSTCODE", []string{"location.postcode"}},
		{"INVALID_ARGUMENT", "INVALID_FIELDS", []string{"external_id"}},
		{"INVALID_ARGUMENT", "INVALID_FIELDS", []string{"needs", "requester.phone"}},
		{"INVALID_ARGUMENT", "INVALID_FIELDS", []string{"organisation"}}}

	check := func(round string, resp *pb.BatchCreateHelpRequestsResponse, existing bool) []string {
		t.Helper()
		if len(resp.Results) != len(rows) {
			t.Fatalf("%s: %d results for %d rows", round, len(resp.Results), len(rows))
		}
		var names []string
		for i, r := range resp.Results {
			w := wants[i]
			if r.Index != int32(i) {
				t.Errorf("%s: result %d has index %d", round, i, r.Index)
			}
			if w.code == "" {
				if r.Error != nil || r.HelpRequest.GetName() == "" || r.Existing != existing {
					t.Errorf("%s: row %d: %v", round, i, r)
				}
				if r.HelpRequest.GetExternalId() != rows[i].ExternalId || r.HelpRequest.GetRequester().GetPhone() != "+441224123456" {
					t.Errorf("%s: row %d stored as %v", round, i, r.HelpRequest)
				}
				names = append(names, r.HelpRequest.GetName())
				continue
			}
			var fields []string
			for _, fv := range r.GetError().GetFieldViolations() {
				fields = append(fields, fv.Field)
			}
			if r.HelpRequest != nil || r.GetError().GetCode() != w.code || r.GetError().GetReason() != w.reason || !slices.Equal(fields, w.fields) || r.GetError().GetMessage() == "" {
				t.Errorf("%s: row %d: %v, want %s %s on %v", round, i, r, w.code, w.reason, w.fields)
			}
		}
		return names
	}
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
	if err != nil {
		t.Fatal(err)
	}
	first := check("first run", resp, false)
	stored, _ := h.countStored()
	if stored != 2 {
		t.Fatalf("%d requests stored, want 2", stored)
	}
	rev := h.revision()

	// Running the same rows again creates nothing and logs nothing.
	resp, err = h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
	if err != nil {
		t.Fatal(err)
	}
	again := check("second run", resp, true)
	if !slices.Equal(first, again) {
		t.Errorf("second run returned %v, first %v", again, first)
	}
	if stored, _ := h.countStored(); stored != 2 || h.revision() != rev {
		t.Errorf("second run: %d stored, revision %d -> %d", stored, rev, h.revision())
	}
	// Each created row logged a create event.
	var created int
	for _, e := range h.logged(1) {
		if e.Type == pb.Event_TYPE_HELP_REQUEST_CREATED && e.Organisation == "granite-city-foodbank" {
			created++
		}
	}
	if created != 2 {
		t.Errorf("%d create events, want 2", created)
	}
}

// TestBatchRerunAfterDeadlinePassed re-sends a row whose deadline has
// since passed: it is reported as existing rather than refused.
func TestBatchRerunAfterDeadlinePassed(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	row := bulkRow("fb-old")
	row.Timing = &pb.HelpRequest_Deadline{Deadline: ts(2 * time.Hour)}
	rows := []*pb.HelpRequest{row}
	if resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows}); err != nil || resp.Results[0].Error != nil {
		t.Fatalf("first run: %v %v", resp, err)
	}
	clock.advance(24 * time.Hour)
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
	if err != nil || resp.Results[0].Error != nil || !resp.Results[0].Existing {
		t.Fatalf("rerun: %v %v", resp, err)
	}
	// A new row with the same past deadline is refused.
	fresh := proto.Clone(row).(*pb.HelpRequest)
	fresh.ExternalId = "fb-new"
	resp, err = h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{fresh}})
	if err != nil || resp.Results[0].GetError().GetCode() != "INVALID_ARGUMENT" {
		t.Fatalf("new row with a past deadline: %v %v", resp, err)
	}
}

// TestBatchDuplicateInBatch: of rows sharing an organisation (in any case)
// and external_id (with any surrounding space), the first in the batch is
// stored and each later one fails naming it, however the writes are
// scheduled; the same external_id in another organisation is a row of its
// own.
func TestBatchDuplicateInBatch(t *testing.T) {
	h := newHarness(t)
	rows := []*pb.HelpRequest{bulkRow("fb-1"), bulkRow("fb-1"), bulkRow(" fb-1 "), bulkRow("fb-2"), bulkRow("fb-1"), bulkRow("fb-2")}
	rows[0].Details = "first"
	rows[1].Details = "second"
	rows[2].Organisation = " Granite-City-Foodbank"
	rows[4].Organisation = "another-org"
	firstOf := map[int]int{1: 0, 2: 0, 5: 3}
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		first, dup := firstOf[i]
		if !dup {
			if r.Error != nil || r.Existing {
				t.Errorf("row %d: %v", i, r)
			}
			continue
		}
		e := r.GetError()
		if r.HelpRequest != nil || e.GetCode() != "INVALID_ARGUMENT" || e.GetReason() != "DUPLICATE_IN_BATCH" ||
			len(e.GetFieldViolations()) != 1 || e.GetFieldViolations()[0].GetField() != "external_id" ||
			!strings.Contains(e.GetFieldViolations()[0].GetDescription(), fmt.Sprintf("row %d ", first)) {
			t.Errorf("row %d: %v, want DUPLICATE_IN_BATCH on external_id naming row %d", i, r, first)
		}
	}
	if got := resp.Results[0].GetHelpRequest().GetDetails(); got != "first" {
		t.Errorf("fb-1 stored with details %q, want the first row's", got)
	}
	if stored, _ := h.countStored(); stored != 3 {
		t.Errorf("%d stored, want 3", stored)
	}
}

// TestBatchConcurrentDuplicates sends the same rows in several batches at
// once, and repeats rows inside one batch: every external_id is stored
// once, and a repeat inside a batch fails naming the first.
func TestBatchConcurrentDuplicates(t *testing.T) {
	h := newHarness(t)
	var rows []*pb.HelpRequest
	for i := range 60 {
		rows = append(rows, bulkRow(fmt.Sprintf("fb-%d", i%20)))
	}
	var wg sync.WaitGroup
	names := make([]map[string]string, 4)
	for b := range names {
		wg.Go(func() {
			resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
			if err != nil {
				t.Error(err)
				return
			}
			names[b] = map[string]string{}
			for _, r := range resp.Results {
				if r.Index >= 20 {
					if r.GetError().GetReason() != "DUPLICATE_IN_BATCH" {
						t.Errorf("row %d repeats row %d: %v", r.Index, r.Index%20, r)
					}
					continue
				}
				if r.Error != nil {
					t.Errorf("row %d: %v", r.Index, r.Error)
					continue
				}
				ext := rows[r.Index].ExternalId
				if prev, ok := names[b][ext]; ok && prev != r.HelpRequest.Name {
					t.Errorf("%s stored as %s and %s", ext, prev, r.HelpRequest.Name)
				}
				names[b][ext] = r.HelpRequest.Name
			}
		})
	}
	wg.Wait()
	if stored, _ := h.countStored(); stored != 20 {
		t.Errorf("%d stored, want 20", stored)
	}
	for b := 1; b < len(names); b++ {
		for ext, name := range names[0] {
			if names[b][ext] != name {
				t.Errorf("batch %d has %s as %s, batch 0 as %s", b, ext, names[b][ext], name)
			}
		}
	}
}

func TestBatchCreateSize(t *testing.T) {
	h := newHarness(t)
	big := make([]*pb.HelpRequest, 501)
	for i := range big {
		big[i] = &pb.HelpRequest{}
	}
	for _, rows := range [][]*pb.HelpRequest{nil, big} {
		_, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
		if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"help_requests"}) {
			t.Errorf("%d rows: %v", len(rows), err)
		}
	}
	if stored, _ := h.countStored(); stored != 0 {
		t.Errorf("%d stored", stored)
	}
}
