package matcher

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRemoteOutOfReachIsBeyondItsCounts: a remote request's counts take in
// those within 50 km; one judged alone farther off is said to be out of
// reach, in none of them, so that the server takes nobody else's count
// away for them (server.uncount).
func TestRemoteOutOfReachIsBeyondItsCounts(t *testing.T) {
	paused := func(v *pb.Volunteer) { v.Paused = true }
	e := engineWith(t, vol("near", 30000, 0, paused), vol("far", 60000, 0, paused))
	r := req(func(r *pb.HelpRequest) { r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true })
	res, err := e.FindCandidates(r, nil, 5, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Exclusions) != 1 || res.Exclusions[0].Count != 1 {
		t.Fatalf("counts %v, want the one within 50 km", res.Exclusions)
	}
	for _, c := range []struct {
		name string
		out  bool
	}{{"volunteers/near", false}, {"volunteers/far", true}} {
		ok, x, err := e.Eligible(r, nil, c.name, now)
		if err != nil || ok || x.Reason != Paused || x.OutOfReach != c.out {
			t.Errorf("%s: %v %+v %v, want paused, out of reach %v", c.name, ok, x, err, c.out)
		}
	}
}
