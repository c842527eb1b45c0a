package matcher

import (
	"fmt"
	"testing"
)

// TestSkillChurnCostFollowsSkills: dropping the skills nobody has reads
// every volunteer, so it must wait for a number of them in proportion to
// the volunteers. It waited for a thousand or so however many there were:
// at a million volunteers, one who kept changing their skills to new ones
// made every update cost a 20 ms rebuild a thousand updates over, 17 µs
// an update on average and a 20 ms stall of every search each time.
func TestSkillChurnCostFollowsSkills(t *testing.T) {
	const n, updates = 50_000, 20_000
	e := NewEngine(DefaultConfig())
	for i := range n {
		v := vol(fmt.Sprintf("v%d", i), float64(i%300)*10, float64(i/300)*10)
		v.Skills = []string{"driver"}
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	rebuilds := 0
	v := vol("v0", 0, 0)
	for i := range updates {
		v.Etag = fmt.Sprint(i + 1)
		v.Skills = []string{fmt.Sprintf("s%d", i)}
		before := len(e.tags)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
		if len(e.tags) < before {
			rebuilds++
		}
	}
	if reads := rebuilds * n / updates; reads > 32 {
		t.Errorf("%d updates, each bringing a new skill, to %d volunteers rebuilt the skills %d times: %d volunteers read per update", updates, n, rebuilds, reads)
	}
}
