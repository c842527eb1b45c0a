package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// bengali is n characters of Bengali, three bytes each in UTF-8.
func bengali(n int) string {
	return string([]rune(strings.Repeat("দুধ ও রুটি, ফার্মেসি থেকে ওষুধ। ", n/20+1))[:n])
}

// TestListPageFitsDefaultReceiveLimit lists 1000 records written in
// Bengali, their text at its limits, over 5 MB in one page, through a
// connection left at gRPC's default limit on a message received, 4 MiB:
// the limit of grpc-js, grpcio and grpc-java too, which only the Go client
// package raises. Each page is to be one the client can read, and the
// pages together every record once.
func TestListPageFitsDefaultReceiveLimit(t *testing.T) {
	const rows = 1000
	for _, tc := range []struct {
		name string
		fill func(h *harness)
		list func(h *harness, token string) ([]string, string, error)
	}{
		{"help requests", fillHelpRequests, func(h *harness, token string) ([]string, string, error) {
			resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 1000, PageToken: token})
			var names []string
			for _, r := range resp.GetHelpRequests() {
				names = append(names, r.GetName())
			}
			return names, resp.GetNextPageToken(), err
		}},
		{"volunteers", fillVolunteers, func(h *harness, token string) ([]string, string, error) {
			resp, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{PageSize: 1000, PageToken: token})
			var names []string
			for _, r := range resp.GetVolunteers() {
				names = append(names, r.GetName())
			}
			return names, resp.GetNextPageToken(), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A thousand creates one after another are past the rate limit.
			h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0))
			tc.fill(h)
			seen := map[string]bool{}
			token, pages := "", 0
			for {
				names, next, err := tc.list(h, token)
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				for _, n := range names {
					if seen[n] {
						t.Fatalf("page %d repeats %s", pages, n)
					}
					seen[n] = true
				}
				if token = next; token == "" {
					break
				}
				if len(names) == 0 {
					t.Fatalf("page %d is empty but has a next page token", pages)
				}
			}
			if len(seen) != rows {
				t.Errorf("the pages held %d records, want %d", len(seen), rows)
			}
			t.Logf("%d records in %d pages", len(seen), pages)
		})
	}
}

// fillHelpRequests stores 1000 requests whose details are 2000 Bengali
// characters, 6000 bytes.
func fillHelpRequests(h *harness) {
	h.t.Helper()
	for b := range 20 {
		req := &pb.BatchCreateHelpRequestsRequest{}
		for i := range 50 {
			hr := validHelpRequest()
			hr.Details = bengali(2000)
			hr.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(48 * time.Hour))}
			hr.ExternalId = fmt.Sprintf("bn-%d-%d", b, i)
			req.HelpRequests = append(req.HelpRequests, hr)
		}
		h.batchCreate(req)
	}
}

// batchCreate stores req's rows, each of which must be stored, and
// returns their names in order.
func (h *harness) batchCreate(req *pb.BatchCreateHelpRequestsRequest) []string {
	h.t.Helper()
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, req)
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, r := range resp.GetResults() {
		if r.GetError() != nil {
			h.t.Fatalf("row %d: %v", r.GetIndex(), r.GetError())
		}
		names = append(names, r.GetHelpRequest().GetName())
	}
	return names
}

// fillVolunteers stores 1000 volunteers with their names and addresses
// in Bengali, 30 skills and 100 dates away, some 5 KB each.
func fillVolunteers(h *harness) {
	h.t.Helper()
	from := time.Now().AddDate(0, 1, 0)
	for i := range 1000 {
		v := validVolunteer()
		v.Contact = &pb.Contact{DisplayName: bengali(100), Phone: fmt.Sprintf("07700 9%05d", i)}
		v.Home.AddressLines = []string{bengali(100), bengali(100), bengali(100), bengali(100)}
		v.Skills = nil
		for s := range 30 {
			v.Skills = append(v.Skills, fmt.Sprintf("skill-%02d-%s", s, strings.Repeat("x", 31)))
		}
		for d := range 100 {
			day := from.AddDate(0, 0, 3*d)
			date := &pb.Date{Year: int32(day.Year()), Month: int32(day.Month()), Day: int32(day.Day())}
			v.Availability.Away = append(v.Availability.Away, &pb.DateRange{StartDate: date, EndDate: date})
		}
		if _, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v}); err != nil {
			h.t.Fatalf("volunteer %d: %v", i, err)
		}
	}
}
