package server_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// ruleOf is the rule a NOT_ELIGIBLE refusal names.
func ruleOf(t *testing.T, err error) string {
	t.Helper()
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Metadata["rule"]
		}
	}
	return ""
}

// TestEditUnderWayNamesTheRuleItBreaks: Ann, with no DBS check, is on her
// morning round (two hour-long errands 10:00-12:00 on two streets, which
// the rule finds no longer fit at 10:30). At 10:30 one of them is made a
// visit inside the home: refused, and for what it asks (VETTING: hand it
// back), not for the morning's misfit (BUSY: move one of her requests),
// which the edit has nothing to do with and nobody can mend now.
func TestEditUnderWayNamesTheRuleItBreaks(t *testing.T) {
	rd := annsRound(t, morningRound)
	h, rs := rd.h, rd.rs
	before := h.getHR(rs[0].Name)
	edit := &pb.HelpRequest{Name: rs[0].Name, EntersHome: true}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enters_home"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if got := ruleOf(t, err); got != "VETTING" {
		t.Errorf("refused for rule %q (%v), want VETTING", got, err)
	}
	if got := h.getHR(rs[0].Name); got.Etag != before.Etag {
		t.Errorf("the refused edit changed the request")
	}
}

// TestEditOfAssignedAlreadyAmissAsksNoMore: Ann, who does not drive, is
// assigned a visit inside a caller's home with the enhanced DBS check it
// needs; her check is then recorded as basic (as older servers let staff
// do while she held it). A later edit that makes the
// visit a lift as well asks what she has never had (a driver): that her
// vetting already fell short must not wave the new lack through.
func TestEditOfAssignedAlreadyAmissAsksNoMore(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) {
		v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED}
		v.Skills = []string{"bsl"}
	}))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.EntersHome = true }))
	h.invAssign(hr.Name, ann.Name)
	// Her record as a server from before the volunteer-side refusal could
	// have left it (UpdateVolunteer now refuses this while she holds the
	// job), or as a stricter matching configuration reads it.
	v := h.getVol(ann.Name)
	v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC}
	v.Contact = nil
	if _, err := h.st.UpdateVolunteer(h.ctx, v); err != nil {
		t.Fatal(err)
	}
	wantLiftRefused(t, h, hr.Name)
	// An edit that asks nothing new of her (a skill she has) stands: the
	// vetting she lacks is no fault of the edit's.
	edit := &pb.HelpRequest{Name: hr.Name, RequiredSkills: []string{"bsl"}}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"required_skills"}}}); err != nil {
		t.Errorf("a skill she has: %v", err)
	}
}

// wantLiftRefused adds a lift to the needs of the assigned request name,
// whose volunteer is no driver: refused NOT_ELIGIBLE for MISSING_SKILL,
// and the request left as it was.
func wantLiftRefused(t *testing.T, h *harness, name string) {
	t.Helper()
	before := h.getHR(name)
	edit := &pb.HelpRequest{Name: name, Needs: append(before.Needs, pb.Need_NEED_TRANSPORT)}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"needs"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if got := ruleOf(t, err); got != "MISSING_SKILL" {
		t.Errorf("refused for rule %q (%v), want MISSING_SKILL", got, err)
	}
	if got := h.getHR(name); got.Etag != before.Etag {
		t.Errorf("the refused edit changed the request: needs %v", got.Needs)
	}
}
