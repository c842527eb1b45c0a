package server_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestSkillTagsCountedOnceTidied: a volunteer's 30-tag limit counts tags
// as stored, so the same tag typed in two cases is one; a list of more
// different tags than that is refused on the field, and a list far longer
// than any real one before a tag of it is read.
func TestSkillTagsCountedOnceTidied(t *testing.T) {
	h := newHarness(t)
	tags := func(n, distinct int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("Skill-%d", i%distinct))
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		skills []string
		ok     bool
	}{
		{"32 tags, 2 different", append(tags(16, 2), tags(16, 2)...), true},
		{"30 different", tags(30, 30), true},
		{"31 different", tags(31, 31), false},
		{"121 tags, 1 different", tags(121, 1), false},
	} {
		v := validVolunteer()
		v.Skills = tc.skills
		resp, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v})
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.ok && len(resp.Volunteer.Skills) != len(slices.Compact(slices.Sorted(slices.Values(resp.Volunteer.Skills)))):
			t.Errorf("%s: stored %v", tc.name, resp.Volunteer.Skills)
		case !tc.ok:
			if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"volunteer.skills"}) {
				t.Errorf("%s: %v, want INVALID_ARGUMENT on volunteer.skills", tc.name, err)
			}
		}
	}
}
