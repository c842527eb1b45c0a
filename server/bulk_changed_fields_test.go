package server_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestBatchRowChangedFieldEachNamed: a partner's nightly file sends a row
// already stored with one thing changed at source: she moved, needs a
// helper who goes in, can no longer get out. The row is not applied, so
// differing_fields is all that tells the partner that Doorstep still holds
// the old: a field left out of it sends volunteers on to the old door, or
// to someone who needs more than they were told. Each field, changed
// alone, is named alone.
func TestBatchRowChangedFieldEachNamed(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		field  string
		change func(hr *pb.HelpRequest)
	}{
		{"needs", func(hr *pb.HelpRequest) { hr.Needs = []pb.Need{pb.Need_NEED_HOT_MEAL} }},
		{"details", func(hr *pb.HelpRequest) { hr.Details = "Leave it with the neighbour at number 14" }},
		{"required_skills", func(hr *pb.HelpRequest) { hr.RequiredSkills = []string{"welsh"} }},
		{"urgency", func(hr *pb.HelpRequest) { hr.Urgency = pb.Urgency_URGENCY_CRITICAL }},
		{"window", func(hr *pb.HelpRequest) {
			hr.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: ts(2 * time.Hour), EndTime: ts(6 * time.Hour)}}
		}},
		{"deadline", func(hr *pb.HelpRequest) { hr.Timing = &pb.HelpRequest_Deadline{Deadline: ts(30 * time.Hour)} }},
		{"remote_ok", func(hr *pb.HelpRequest) { hr.RemoteOk = true }},
		{"enters_home", func(hr *pb.HelpRequest) { hr.EntersHome = true }},
		{"location.postcode", func(hr *pb.HelpRequest) { hr.Location.Postcode = "AB10 1AF" }},
		{"location.street", func(hr *pb.HelpRequest) { hr.Location.Street = "Correction Wynd" }},
		{"location.address_lines", func(hr *pb.HelpRequest) { hr.Location.AddressLines = []string{"Flat 5", "12 Union Street"} }},
		{"location.lat_lng", func(hr *pb.HelpRequest) { hr.Location.LatLng = &pb.LatLng{Latitude: 57.1440, Longitude: -2.1010} }},
		{"requester.display_name", func(hr *pb.HelpRequest) { hr.Requester.DisplayName = "Margaret Reid" }},
		{"requester.phone", func(hr *pb.HelpRequest) { hr.Requester.Phone = "07700 900999" }},
		{"vulnerability", func(hr *pb.HelpRequest) { hr.Vulnerability.ReducedMobility = true }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			row := bulkRow("changed-" + tc.field)
			row.Vulnerability = &pb.Vulnerability{LivesAlone: true}
			first, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{proto.CloneOf(row)}})
			if err != nil || first.Results[0].GetError() != nil {
				t.Fatal(err, first)
			}
			changed := proto.CloneOf(row)
			tc.change(changed)
			resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{changed}})
			if err != nil {
				t.Fatal(err)
			}
			r := resp.Results[0]
			if r.GetError() != nil || !r.GetExisting() {
				t.Fatalf("%v, want existing", r)
			}
			if got := r.GetDifferingFields(); !slices.Equal(got, []string{tc.field}) {
				t.Errorf("differing fields %q, want %q", got, tc.field)
			}
		})
	}
}
