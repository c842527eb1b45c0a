package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A partner file that names one external_id twice (a correction appended
// below the original) has a stable outcome: the first row is stored, and
// every later one fails with DUPLICATE_IN_BATCH on external_id naming the
// first, whether it falls in the same batch or a later one. It is not
// reported as existing, which would hide that its own details were
// dropped.
func TestImportDuplicateExternalIDFirstRowWins(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	const pairs = 250
	var rows []*pb.HelpRequest
	for i := range pairs {
		a := helpRequest("aberdeen-foodbank", fmt.Sprintf("dup-%d", i))
		a.Details = "first row"
		b := helpRequest("aberdeen-foodbank", fmt.Sprintf("dup-%d", i))
		b.Details = "second row"
		rows = append(rows, a, b)
	}
	// Row 500 falls in the second batch; organisations compare as the
	// server normalises them.
	late := helpRequest(" Aberdeen-Foodbank", "dup-0")
	late.Details = "third row"
	rows = append(rows, late)
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	check := func(i, first int) {
		t.Helper()
		e := results[i].GetError()
		if results[i].GetHelpRequest() != nil || e.GetReason() != client.ReasonDuplicateInBatch || len(e.GetFieldViolations()) != 1 ||
			e.GetFieldViolations()[0].GetField() != "external_id" || !strings.Contains(e.GetFieldViolations()[0].GetDescription(), fmt.Sprintf("row %d,", first)) {
			t.Errorf("row %d: %v, want %s on external_id naming row %d", i, results[i], client.ReasonDuplicateInBatch, first)
		}
	}
	for i := range pairs {
		first := results[2*i]
		if first.GetError() != nil || first.GetExisting() || first.GetHelpRequest().GetDetails() != "first row" {
			t.Errorf("row %d, the first of its external_id: %v", 2*i, first)
		}
		check(2*i+1, 2*i)
	}
	check(len(rows)-1, 0)
	if n := s.countStored(t); n != pairs {
		t.Errorf("stored %d requests, want %d", n, pairs)
	}
}
