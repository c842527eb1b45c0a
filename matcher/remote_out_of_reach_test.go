package matcher

import (
	"fmt"
	"math"
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

// TestRemoteCountsEdgeAgreesWithOutOfReach: at the edge of a remote
// request's 50 km, where the grid's sweep counts whole blocks and reads
// only the cells its circle crosses, each volunteer it counts is one
// Eligible says is within its counts, and each it leaves out is one it
// says is out of reach: the server takes a holder's count away on that
// word, and one counted but said out of reach would be left in "1 is
// fully booked" as if somebody else.
func TestRemoteCountsEdgeAgreesWithOutOfReach(t *testing.T) {
	paused := func(v *pb.Volunteer) { v.Paused = true }
	var vols []*pb.Volunteer
	for i := range 360 {
		a := float64(i) * math.Pi / 180
		d := 49700 + float64(i%61)*10 // 49.7 km to 50.3 km, all round
		vols = append(vols, vol(fmt.Sprintf("v%03d", i), d*math.Cos(a), d*math.Sin(a), paused))
	}
	e := engineWith(t, vols...)
	r := req(func(r *pb.HelpRequest) { r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true })
	res, err := e.FindCandidates(r, nil, 5, now)
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	for _, x := range res.Exclusions {
		counted += x.Count
	}
	within := 0
	for _, v := range vols {
		ok, x, err := e.Eligible(r, nil, v.Name, now)
		if err != nil || ok || x.Reason != Paused {
			t.Fatalf("%s: %v %+v %v", v.Name, ok, x, err)
		}
		if !x.OutOfReach {
			within++
		}
	}
	if counted != within || within == 0 || within == len(vols) {
		t.Errorf("counted %d, Eligible says %d of %d within the counts", counted, within, len(vols))
	}
}
