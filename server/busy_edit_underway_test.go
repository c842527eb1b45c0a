package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditOfAssignedWhileItsVolunteerIsOnTheirRound: Ann is assigned two
// hour-long errands, both 10:00-12:00 tomorrow on two streets: an hour
// for each. At 10:30 the rule, which cannot know what she has done,
// finds the two no longer fit (10:30-11:30, then 11:30-12:30). The caller
// of the first rings then: the volunteer cannot find the house, it is on
// Union Terrace, not Union Street; or the errand is only a prescription.
// Neither edit brings her a clash she did not have: each must stand, not
// be refused as putting her at two places at once. Moving it to 14:00-15:00,
// when she has a third errand, does bring one, and is refused.
func TestEditOfAssignedWhileItsVolunteerIsOnTheirRound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		path    string
		edit    *pb.HelpRequest
		refused bool
	}{
		{"street", "location.street", &pb.HelpRequest{Location: &pb.Location{Postcode: "AB10 1AB", Street: "Union Terrace"}}, false},
		{"needs", "needs", &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}}, false},
		{"to the third's time", "window", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
			tomorrow := clock.now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			window := func(from, to time.Duration) *pb.HelpRequest_Window {
				return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(to))}}
			}
			errand := func(street, phone string, from, to time.Duration) *pb.HelpRequest {
				return h.createHR(shopping(func(r *pb.HelpRequest) {
					r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
					r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street}
					r.Requester.Phone = phone
					r.Timing = window(from, to)
				}))
			}
			first := errand("Union Street", "01224 700001", 10*time.Hour, 12*time.Hour)
			second := errand("Crown Street", "01224 700002", 10*time.Hour, 12*time.Hour)
			third := errand("Holburn Street", "01224 700003", 14*time.Hour, 15*time.Hour)
			for _, r := range []*pb.HelpRequest{first, second, third} {
				h.invAssign(r.Name, ann.Name)
			}
			clock.advance(tomorrow.Add(10*time.Hour + 30*time.Minute).Sub(clock.now()))
			edit := tc.edit
			if edit == nil {
				edit = &pb.HelpRequest{Timing: window(14*time.Hour, 15*time.Hour)}
			}
			edit.Name = first.Name
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{tc.path}}})
			switch {
			case tc.refused:
				wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
			case err != nil:
				t.Errorf("the edit at 10:30: %v", err)
			}
		})
	}
}
