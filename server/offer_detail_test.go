package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOfferRefusalNamesWhatIsLacking: CreateOffer refusing a volunteer
// as NOT_ELIGIBLE says, in its metadata, the rule and what was lacking
// (README: `rule`, `detail`), so that staff are told which skill or which
// level of check to look for, not only that one is missing.
func TestOfferRefusalNamesWhatIsLacking(t *testing.T) {
	for _, tc := range []struct {
		name       string
		request    func(*pb.HelpRequest)
		rule, want string
	}{
		{"a skill", func(r *pb.HelpRequest) { r.RequiredSkills = []string{"welsh"} }, "MISSING_SKILL", "welsh"},
		{"a check", func(r *pb.HelpRequest) { r.EntersHome = true }, "VETTING", "enhanced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			hr := h.createHR(shopping(tc.request))
			_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name})
			wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
			if rule, detail := statusMeta(t, err, "rule"), statusMeta(t, err, "detail"); rule != tc.rule || detail != tc.want {
				t.Errorf("refused with rule %q, detail %q; want %q, %q (%v)", rule, detail, tc.rule, tc.want, err)
			}
		})
	}
}
