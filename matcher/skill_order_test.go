package matcher

import (
	"fmt"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestMissingSkillIsFirstInRequestOrder: a volunteer lacking several of a
// request's skills is turned away for the first of them in the request's
// order, whichever order the engine met the skills in (tag bits, the
// packed mask, the side record) and whether anyone has them, by Eligible
// and by the counts of a search alike.
func TestMissingSkillIsFirstInRequestOrder(t *testing.T) {
	var all []string
	for i := range 70 {
		all = append(all, fmt.Sprintf("s%02d", i))
	}
	for _, asked := range [][]string{
		{"s01", "s00"}, {"s69", "s02"}, {"s02", "s69"}, {"s40", "s10"}, {"s10", "s40"},
		{"s66", "s65"}, {"nobody", "s00"}, {"s00", "nobody"}, {"s68", "nobody", "s01"},
	} {
		for _, reversed := range []bool{false, true} {
			met := slices.Clone(all)
			if reversed {
				slices.Reverse(met)
			}
			e := engineWith(t,
				vol("skilled", 0, 0, func(v *pb.Volunteer) { v.Skills, v.Paused = met, true }),
				vol("bare", 10, 0))
			r := req(func(r *pb.HelpRequest) { r.RequiredSkills = asked })
			name := fmt.Sprintf("%v met reversed %v", asked, reversed)
			ok, why, err := e.Eligible(r, nil, "volunteers/bare", now)
			if err != nil || ok || why.Reason != MissingSkill || why.Detail != asked[0] {
				t.Errorf("%s: Eligible = %v, %+v, %v; want missing %s", name, ok, why, err, asked[0])
			}
			res, err := e.FindCandidates(r, nil, 5, now)
			if err != nil {
				t.Fatal(err)
			}
			want := []Exclusion{{Reason: Paused, Count: 1}, {Reason: MissingSkill, Detail: asked[0], Count: 1}}
			if !slices.Equal(res.Exclusions, want) {
				t.Errorf("%s: exclusions %+v, want %+v", name, res.Exclusions, want)
			}
		}
	}
}
