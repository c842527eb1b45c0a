package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditOfAssignedKeepsItsSafeguards: Ann, with a basic DBS check and no
// driving, is assigned a caller's shopping. An edit that makes it a job
// she could never have been offered, one that goes into the home (an
// enhanced check), a lift (the driver skill) or a skill
// she lacks, would send her anyway: the edit is refused, naming the rule,
// and changes nothing. An edit she still qualifies for stands.
func TestEditOfAssignedKeepsItsSafeguards(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  *pb.HelpRequest
		paths []string
		ok    bool
	}{
		{"enters the home", &pb.HelpRequest{EntersHome: true}, []string{"enters_home"}, false},
		{"a lift", &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_TRANSPORT}}, []string{"needs"}, false},
		{"a skill she lacks", &pb.HelpRequest{RequiredSkills: []string{"welsh"}}, []string{"required_skills"}, false},
		{"a skill she has", &pb.HelpRequest{RequiredSkills: []string{"bsl"}}, []string{"required_skills"}, true},
		{"errands", &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_ERRANDS}}, []string{"needs"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}
				v.Skills = []string{"bsl"}
			}))
			hr := h.createHR(shopping())
			h.invAssign(hr.Name, ann.Name)
			before := h.getHR(hr.Name)
			tc.edit.Name = hr.Name
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: tc.edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.paths}})
			if tc.ok {
				if err != nil {
					t.Fatalf("an edit Ann still qualifies for: %v", err)
				}
				return
			}
			wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
			if got := h.getHR(hr.Name); got.Etag != before.Etag || got.AssignedVolunteer != ann.Name {
				t.Errorf("the refused edit changed the request: etag %s→%s, assigned %q", before.Etag, got.Etag, got.AssignedVolunteer)
			}
		})
	}
}

// TestEditOfAssignedPastTheirVetting: Bea's enhanced DBS check runs out in
// three days, and she is assigned a visit inside a caller's home today.
// Moving it to next week, when her check has lapsed, is refused (VETTING)
// and changes nothing; moving it to tomorrow stands.
func TestEditOfAssignedPastTheirVetting(t *testing.T) {
	h := newHarness(t)
	lapse := time.Now().UTC().AddDate(0, 0, 3)
	bea := h.createVol(matchVolunteer("Bea", "AB10 1AF", func(v *pb.Volunteer) {
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: int32(lapse.Year()), Month: int32(lapse.Month()), Day: int32(lapse.Day())}}
	}))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.EntersHome = true }))
	h.invAssign(hr.Name, bea.Name)
	move := func(days int) error {
		start := time.Now().Add(time.Duration(days)*24*time.Hour + time.Hour)
		_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: hr.Name, Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(4 * time.Hour))}}},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
		return err
	}
	before := h.getHR(hr.Name)
	wantFailure(t, move(7), codes.FailedPrecondition, "NOT_ELIGIBLE")
	if got := h.getHR(hr.Name); got.Etag != before.Etag {
		t.Errorf("the refused edit changed the request: %v", got.GetWindow())
	}
	if err := move(1); err != nil {
		t.Errorf("moving it to tomorrow, while her check holds: %v", err)
	}
}
