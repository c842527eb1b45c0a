package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditUnderWayShortOfASkillStillBusy: Ann is assigned an errand on
// Union Street, 10:00-12:00 tomorrow, for a caller who asked for a Welsh
// speaker, and another on Crown Street at 11:30-12:30. At 10:15, the
// first under way, she takes Welsh off her skills (a job under way is not
// judged so), and the first caller's errand is then corrected to
// shopping, an hour and a half: 10:15-11:45 on Union Street and
// 11:30-12:30 on Crown Street have her at two places at once, and the
// edit is refused, as it is when she still speaks Welsh. Lacking Welsh
// already, which the edit does not ask anew, must not wave the clash
// through; nor must the same edit asking for Welsh no longer.
func TestEditUnderWayShortOfASkillStillBusy(t *testing.T) {
	longer := &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}}
	for _, tc := range []struct {
		name      string
		dropWelsh bool
		edit      *pb.HelpRequest
		paths     []string
	}{
		{"with every skill the job asks", false, longer, []string{"needs"}},
		{"short of a skill the job asked already", true, longer, []string{"needs"}},
		{"short of a skill the edit no longer asks", true, longer, []string{"needs", "required_skills"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
				v.Capacity, v.Skills = 2, []string{"welsh"}
			}))
			tomorrow := clock.now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			window := func(from, to time.Duration) *pb.HelpRequest_Window {
				return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(to))}}
			}
			errand := func(street, phone string, skills []string, from, to time.Duration) *pb.HelpRequest {
				r := h.createHR(shopping(func(r *pb.HelpRequest) {
					r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
					r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street}
					r.Requester.Phone = phone
					r.RequiredSkills = skills
					r.Timing = window(from, to)
				}))
				h.invAssign(r.Name, ann.Name)
				return r
			}
			first := errand("Union Street", "01224 700001", []string{"welsh"}, 10*time.Hour, 12*time.Hour)
			errand("Crown Street", "01224 700002", nil, 11*time.Hour+30*time.Minute, 12*time.Hour+30*time.Minute)
			clock.advance(tomorrow.Add(10*time.Hour + 15*time.Minute).Sub(clock.now()))
			if tc.dropWelsh {
				if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: ann.Name},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"skills"}}}); err != nil {
					t.Fatalf("Ann gives up Welsh, her errand for it under way: %v", err)
				}
			}
			before := h.getHR(first.Name)
			edit := proto.CloneOf(tc.edit)
			edit.Name = first.Name
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.paths}})
			wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
			if rule := errorMetadata(err)["rule"]; rule != "BUSY" {
				t.Errorf("refused for rule %q, want BUSY: %v", rule, err)
			}
			if got := h.getHR(first.Name); got.Etag != before.Etag {
				t.Errorf("the refused edit changed the request: needs %v", got.Needs)
			}
		})
	}
}
