package matcher

import (
	"fmt"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestChurnKeepsInternedBounded: a server runs for months while
// volunteers join and leave, move and change their skills. The engine's
// tables of postcodes, streets and skills must follow the volunteers it
// holds, not every string it has ever met: with a handful left after
// thousands have come and gone, they held every street and skill of the
// departed for as long as the process ran. And what it still holds must
// match as an engine loaded afresh with the same volunteers does.
func TestChurnKeepsInternedBounded(t *testing.T) {
	const live, churn = 20, 5000
	cases := []struct {
		name string
		// at gives round i's volunteer: its name, and its place and skill
		// by i.
		at func(i int) string
	}{
		{"volunteers come and go", func(i int) string { return fmt.Sprintf("v%d", i) }},
		{"volunteers move and retrain", func(i int) string { return fmt.Sprintf("v%d", i%live) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewEngine(DefaultConfig())
			kept := map[string]*pb.Volunteer{}
			make_ := func(i int) *pb.Volunteer {
				return vol(c.at(i), float64(i%50)*20, float64(i%7)*20, func(v *pb.Volunteer) {
					v.Home.Street = fmt.Sprintf("Lane %d", i)
					v.Home.Postcode = fmt.Sprintf("AB%d %d%c%c", 10+i%90, i/90%10, 'A'+i/900%26, 'A'+i/23400%26)
					v.Skills = []string{"driver", fmt.Sprintf("skill-%d", i)}
				})
			}
			for i := range churn {
				v := make_(i)
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
				kept[v.Name] = v
				// Of those who come and go, all but the last few leave.
				if old := c.at(i - live); i >= live && old != c.at(i) {
					e.RemoveVolunteer("volunteers/" + old)
					delete(kept, "volunteers/"+old)
				}
			}
			if e.Len() != live {
				t.Fatalf("engine holds %d volunteers; want %d", e.Len(), live)
			}
			skills := map[string]bool{}
			for _, v := range kept {
				for _, s := range v.Skills {
					skills[s] = true
				}
			}
			const slack = 1024
			if n := e.postcodes.len(); n > 2*live+slack {
				t.Errorf("after %d volunteers, %d left, the engine holds %d postcodes", churn, live, n)
			}
			if n := e.streets.len(); n > 2*live+slack {
				t.Errorf("after %d volunteers, %d left, the engine holds %d streets", churn, live, n)
			}
			if n := len(e.tags); n > 2*len(skills)+slack {
				t.Errorf("after %d volunteers, %d left with %d skills, the engine holds %d skills", churn, live, len(skills), n)
			}

			fresh := NewEngine(DefaultConfig())
			for _, v := range kept {
				if err := fresh.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
			}
			now := monday
			for _, v := range kept {
				r := req(func(r *pb.HelpRequest) {
					r.Location.Street, r.Location.Postcode = v.Home.Street, v.Home.Postcode
					r.RequiredSkills = v.Skills[1:]
				})
				got, err := e.FindCandidates(r, nil, 5, now)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fresh.FindCandidates(r, nil, 5, now)
				if err != nil {
					t.Fatal(err)
				}
				if describe(got) != describe(want) {
					t.Errorf("a request on %s, needing %s: after the churn\n%s\nloaded afresh\n%s", v.Home.Street, v.Skills[1], describe(got), describe(want))
				}
				if len(got.Candidates) != 1 || got.Candidates[0].Volunteer != v.Name || !got.Candidates[0].SameStreet || !got.Candidates[0].SamePostcode {
					t.Errorf("a request on %s, %s, needing %s: got %s; want %s alone, on the same street and postcode", v.Home.Street, v.Home.Postcode, v.Skills[1], describe(got), v.Name)
				}
			}
		})
	}
}

// describe is a search's result in short, to compare two.
func describe(r Result) string {
	var out []string
	for _, c := range r.Candidates {
		out = append(out, fmt.Sprintf("%s %.1f street=%v postcode=%v", c.Volunteer, c.Score, c.SameStreet, c.SamePostcode))
	}
	for _, x := range r.Exclusions {
		out = append(out, fmt.Sprintf("excluded %s %s: %d", x.Reason, x.Detail, x.Count))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
