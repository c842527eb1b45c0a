package matcher

import (
	"maps"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// widenTrap is three shopping requests among three volunteers, each free
// for one, with two candidates a request: r1, at a's door, has a (0 m)
// and b (200 m), and c (1 km east) only third; r2, 1.4 km south, has
// only a in reach, and r3, 1.6 km north, only b. On two candidates apiece
// the best covers two (r1 takes a, r3 b: the least distance), and r2,
// whose only volunteer r1 took, is left open while c is free.
func widenTrap(t *testing.T) (*Engine, []DispatchRequest) {
	t.Helper()
	e := engineWith(t, vol("a", 0, 0), vol("b", 200, 0), vol("c", 0, 1000))
	at := func(name string, dn float64) DispatchRequest {
		return DispatchRequest{Request: req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(dn, 0)
		})}
	}
	return e, []DispatchRequest{at("r1", 0), at("r2", -1400), at("r3", 1600)}
}

// TestDispatchWidensContestedRequests: a request left open because its
// only volunteer went to a request with others further off is covered:
// that request is given more candidates (widen), and all three are.
func TestDispatchWidensContestedRequests(t *testing.T) {
	e, reqs := widenTrap(t)
	// The trap holds: on two candidates a request, two are covered.
	dp, ok := e.dispatchProblem(reqs, 2, now, false)
	if !ok {
		t.Fatal("the engine renumbered")
	}
	narrow, err := SolveAssignment(dp.problem)
	if err != nil {
		t.Fatal(err)
	}
	if narrow.Covered != 2 || narrow.Volunteer[1] >= 0 || dp.nfound[0] != 2 || dp.nfound[1] != 1 {
		t.Fatalf("on two candidates a request: %+v covered, found %v; the trap needs r2 open and r1 with two", narrow, dp.nfound)
	}
	// r2 is open; r1 holds its only volunteer, a, and r3 b, r1's other.
	// Of the three only r1 found all it asked for, and is searched again.
	if got := contested(dp.problem, narrow); !got[0] || !got[1] || !got[2] {
		t.Fatalf("contested %v, want all three", got)
	}
	widened := 0
	e.testHook = func(point string) {
		if point == "dispatch widen" {
			widened++
		}
	}
	plan, err := e.PlanDispatch(reqs, 2, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"r1": "c", "r2": "a", "r3": "b"}; !maps.Equal(planned(plan), want) {
		t.Fatalf("dispatch planned %v, want %v", planned(plan), want)
	}
	if widened != 1 || plan.Uncovered != 0 || plan.Greedy != 2 {
		t.Errorf("%d widening runs, %d uncovered, greedy %d on the wider graph; want 1, 0, 2", widened, plan.Uncovered, plan.Greedy)
	}
}

// TestDispatchWidensNothingUncontested: where every request is covered,
// nothing is searched again; nor where the one open has nobody in reach.
func TestDispatchWidensNothingUncontested(t *testing.T) {
	for _, c := range []struct {
		name string
		far  float64 // where r2 is
		want map[string]string
	}{
		{"all covered", 100, map[string]string{"r1": "a", "r2": "b"}},
		{"one open, nobody in reach", 20000, map[string]string{"r1": "a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := engineWith(t, vol("a", 0, 0), vol("b", 100, 0))
			at := func(name string, dn float64) DispatchRequest {
				return DispatchRequest{Request: req(func(r *pb.HelpRequest) {
					r.Name = "helpRequests/" + name
					r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(dn, 0)
				})}
			}
			e.testHook = func(point string) {
				if point == "dispatch widen" {
					t.Error("searched again")
				}
			}
			plan, err := e.PlanDispatch([]DispatchRequest{at("r1", 0), at("r2", c.far)}, 1, now)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(planned(plan), c.want) {
				t.Errorf("dispatch planned %v, want %v", planned(plan), c.want)
			}
		})
	}
}

// TestDispatchWidenAcrossRemoval: a volunteer removed while the wider
// searches run (its id free to be given to another) leaves no plan built
// on ids from before; the plan made again, holding the lock, is the best
// without them.
func TestDispatchWidenAcrossRemoval(t *testing.T) {
	e, reqs := widenTrap(t)
	runs := 0
	e.testHook = func(point string) {
		if point != "dispatch widen" {
			return
		}
		if runs++; runs == 1 {
			e.RemoveVolunteer("volunteers/c")
			if err := e.UpsertVolunteer(vol("d", 0, 9000)); err != nil { // out of everyone's reach, perhaps in c's place
				t.Error(err)
			}
		}
	}
	plan, err := e.PlanDispatch(reqs, 2, now)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Fatalf("%d widening runs outside the lock; want 1", runs)
	}
	if want := map[string]string{"r1": "a", "r3": "b"}; !maps.Equal(planned(plan), want) {
		t.Errorf("dispatch planned %v, want %v", planned(plan), want)
	}
}
