package client_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A partner's export often comes out of a Windows spreadsheet in
// Windows-1252, so that "Zoë" is the single byte 0xEB, which gRPC cannot
// carry. Such a row fails alone with INVALID_UTF8, naming every field at
// fault however deeply nested or repeated, and is not sent; the rest of
// its batch is stored.
func TestImportInvalidUTF8RowStopsOnlyItself(t *testing.T) {
	cases := []struct {
		name   string
		spoil  func(*pb.HelpRequest)
		fields []string
	}{
		{"name", func(hr *pb.HelpRequest) { hr.Requester.DisplayName = "Zo\xeb Smith" }, []string{"requester.display_name"}},
		{"address line", func(hr *pb.HelpRequest) { hr.Location.AddressLines = []string{"Flat 2", "Caf\xe9 Row"} }, []string{"location.address_lines[1]"}},
		{"skill", func(hr *pb.HelpRequest) { hr.RequiredSkills = []string{"gaelic\x92"} }, []string{"required_skills[0]"}},
		{"several", func(hr *pb.HelpRequest) {
			hr.Details = "\x93urgent\x94"
			hr.Location.Street = "Rue d\x92Arc"
		}, []string{"details", "location.street"}},
	}
	s := newTestServer(t)
	c := s.client(t)
	stored := 0
	for n, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rows []*pb.HelpRequest
			for i := range 5 {
				rows = append(rows, helpRequest("aberdeen-foodbank", fmt.Sprintf("utf8-%d-%d", n, i)))
			}
			tc.spoil(rows[2])
			results, err := c.ImportHelpRequests(context.Background(), rows)
			if err != nil {
				t.Fatalf("one badly encoded row failed the whole import: %v; %s", err, client.Describe(err))
			}
			if len(results) != len(rows) {
				t.Fatalf("got %d results for %d rows", len(results), len(rows))
			}
			for i, r := range results {
				if i == 2 {
					var fields []string
					for _, fv := range r.GetError().GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
					if r.GetError().GetReason() != client.ReasonInvalidUTF8 || r.GetIndex() != 2 || !slices.Equal(fields, tc.fields) {
						t.Errorf("row 2: %v, want %s on %v", r, client.ReasonInvalidUTF8, tc.fields)
					}
					continue
				}
				if r.GetError() != nil || r.GetHelpRequest() == nil {
					t.Errorf("row %d: good row not stored: %v", i, client.DescribeRow(r.GetError()))
				}
			}
			stored += 4
			if n := s.countStored(t); n != stored {
				t.Errorf("stored %d requests, want %d", n, stored)
			}
		})
	}
}
