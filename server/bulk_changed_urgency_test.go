package server_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestBatchRowWithoutUrgencyAgreesWithStaffs: a partner's rows (JSONL, or
// built with the Go client) say no urgency, which a create takes as
// normal. Staff triaging a request raised it to high; every night after,
// the unchanged row came back with differing_fields "urgency", to be
// "changed" back to normal with UpdateHelpRequest. A row that gives no
// urgency differs in none; one that gives another does.
func TestBatchRowWithoutUrgencyAgreesWithStaffs(t *testing.T) {
	h := newHarness(t)
	row := bulkRow("triaged")
	sent := proto.CloneOf(row) // the create normalises what it is given
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{sent}})
	if err != nil || resp.Results[0].GetError() != nil {
		t.Fatal(err, resp)
	}
	name := resp.Results[0].GetHelpRequest().GetName()
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: name, Urgency: pb.Urgency_URGENCY_HIGH},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"urgency"}},
	}); err != nil {
		t.Fatal(err)
	}
	lowered := proto.CloneOf(row)
	lowered.Urgency = pb.Urgency_URGENCY_LOW
	for _, c := range []struct {
		row  *pb.HelpRequest
		want string
	}{{proto.CloneOf(row), ""}, {lowered, "urgency"}} {
		resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{c.row}})
		if err != nil {
			t.Fatal(err)
		}
		got := resp.Results[0].GetDifferingFields()
		if (c.want == "" && len(got) != 0) || (c.want != "" && (len(got) != 1 || got[0] != c.want)) {
			t.Errorf("row of urgency %v: differing fields %q, want %q", c.row.Urgency, got, c.want)
		}
	}
}
