package server_test

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestMissingSkillNamedInRequestOrder: a volunteer lacking several of a
// request's skills is counted as lacking the first of them, in the
// request's order, whatever order the skills reached the server in, and
// whether anyone still has them, so that "why nobody" reads the same
// before and after a restart.
func TestMissingSkillNamedInRequestOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		skills []string // the request's
		// history runs before the request is made: Ailsa, Bruce and
		// Catriona are given.
		history func(h *harness, ailsa, bruce string)
		want    string
	}{{
		// "welsh" reaches the running server after "driver", but a
		// restart reads Ailsa, who has it, first.
		name:   "skills met in another order",
		skills: []string{"driver", "welsh"},
		history: func(h *harness, ailsa, bruce string) {
			h.setSkills(bruce, "driver")
			h.setSkills(ailsa, "welsh")
		},
		want: "2 nearby lack driver, 1 nearby lacks welsh",
	}, {
		// Nobody has "welsh" any more, nor ever had "makaton".
		name:   "a skill nobody has any more",
		skills: []string{"welsh", "makaton"},
		history: func(h *harness, ailsa, _ string) {
			h.setSkills(ailsa, "welsh")
			h.setSkills(ailsa)
		},
		want: "3 nearby lack welsh",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ailsa := h.createVol(matchVolunteer("Ailsa", "AB10 1AF"))
			bruce := h.createVol(matchVolunteer("Bruce", "AB10 1AF"))
			h.createVol(matchVolunteer("Catriona", "AB10 1AF"))
			tc.history(h, ailsa.Name, bruce.Name)
			hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.RequiredSkills = tc.skills }))
			find := func() *pb.FindCandidatesResponse {
				t.Helper()
				resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			live := find()
			if live.Summary != tc.want {
				t.Errorf("running server: summary %q, want %q", live.Summary, tc.want)
			}
			h.reopen()
			if restarted := find(); !proto.Equal(restarted, live) {
				t.Errorf("before a restart the server answered\n%s\nafter it\n%s", prototext.Format(live), prototext.Format(restarted))
			}
		})
	}
}

func (h *harness) setSkills(vol string, skills ...string) {
	h.t.Helper()
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: vol, Skills: skills},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"skills"}}}); err != nil {
		h.t.Fatal(err)
	}
}
