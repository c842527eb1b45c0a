package matcher

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A volunteer with room for two, given two jobs at one time in two
// places, keeps one; the other is not left uncovered when the one kept
// could go to someone else.
func TestDispatchClashMovesTheJobKept(t *testing.T) {
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	request := func(name string, dn float64, u pb.Urgency, from, to int) *pb.HelpRequest {
		return req(func(r *pb.HelpRequest) {
			r.Name = "helpRequests/" + name
			r.Urgency = u
			lat, lng := offset(dn, 0)
			r.Location = &pb.Location{Postcode: "AB10 9ZZ", LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(at(from)), EndTime: timestamppb.New(at(to))}}
		})
	}
	capacity := func(n int32, reach int32) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			v.Capacity, v.MaxDistanceMetres = n, reach
			v.Availability.Weekly = everyDay(0, 24)
		}
	}
	tests := []struct {
		name string
		vols []*pb.Volunteer
		reqs []*pb.HelpRequest
		want map[string]string // request -> volunteer
	}{
		// a lives between the two; b only within 1 km of the critical one.
		{"the low one only a can do",
			[]*pb.Volunteer{vol("a", 0, 0, capacity(2, 5000)), vol("b", -900, 0, capacity(2, 1000))},
			[]*pb.HelpRequest{request("crit", -400, pb.Urgency_URGENCY_CRITICAL, 10, 11), request("low", 600, pb.Urgency_URGENCY_LOW, 10, 11)},
			map[string]string{"crit": "b", "low": "a"}},
		// b has room for two; c, for one, took the low one. crit2, which
		// only b can do, clashes with crit1, nearer b: crit1 goes to c,
		// and the low one waits, rather than a critical one.
		{"a critical one only b can do",
			[]*pb.Volunteer{vol("b", 0, 0, capacity(2, 5000)), vol("c", -1200, 0, capacity(1, 1100))},
			[]*pb.HelpRequest{request("crit1", -200, pb.Urgency_URGENCY_CRITICAL, 10, 11), request("crit2", 600, pb.Urgency_URGENCY_CRITICAL, 10, 12), request("low", -1900, pb.Urgency_URGENCY_LOW, 10, 11)},
			map[string]string{"crit1": "c", "crit2": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engineWith(t, tt.vols...)
			var drs []DispatchRequest
			for _, r := range tt.reqs {
				drs = append(drs, DispatchRequest{Request: r})
			}
			plan, err := e.PlanDispatch(drs, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			got := planned(plan)
			if !maps.Equal(got, tt.want) || plan.Uncovered != len(tt.reqs)-len(tt.want) {
				t.Fatalf("plan %v (uncovered %d), want %v", got, plan.Uncovered, tt.want)
			}
		})
	}
}

// TestDispatchClashCoverBoundsItsWork: volunteers with room for six, and
// requests at a few times each needing most of a five-hour window, clash
// everywhere; each schedule coverClashed checks and finds full tries all
// 720 orders of its jobs. The orders tried in all stay within the bound,
// which keeps the plan (and writers waiting on the read lock) from taking
// a second more.
func TestDispatchClashCoverBoundsItsWork(t *testing.T) {
	defer func(f func([]job) (bool, int)) { coverFits = f }(coverFits)
	tried, sixes := 0, 0
	coverFits = func(jobs []job) (bool, int) {
		n := len(jobs)
		ok, k := fitsTrying(jobs)
		tried += k
		if n == 6 && !ok {
			sixes++
		}
		return ok, k
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var vols []*pb.Volunteer
	for i := range 600 {
		vols = append(vols, vol(fmt.Sprintf("v%03d", i), rng.Float64()*1000, rng.Float64()*1000, func(v *pb.Volunteer) {
			v.Capacity = 6
			v.Availability.Weekly = everyDay(0, 24)
		}))
	}
	e := engineWith(t, vols...)
	var drs []DispatchRequest
	for i := range 3000 {
		from := monday.Add(8*time.Hour + time.Duration(rng.IntN(8))*30*time.Minute)
		drs = append(drs, DispatchRequest{Request: req(func(r *pb.HelpRequest) {
			r.Name = fmt.Sprintf("helpRequests/r%04d", i)
			r.Urgency = pb.Urgency(1 + rng.IntN(4))
			lat, lng := offset(rng.Float64()*1000, rng.Float64()*1000)
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: fmt.Sprintf("Street %d", i), LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(from), EndTime: timestamppb.New(from.Add(5 * time.Hour))}}
		})})
	}
	if _, err := e.PlanDispatch(drs, 20, now); err != nil {
		t.Fatal(err)
	}
	if sixes < 1000 {
		t.Fatalf("%d full schedules of six checked: the test needs more", sixes)
	}
	if tried > maxCoverOrders+720 {
		t.Errorf("coverClashed tried %d orders of jobs, bound %d", tried, maxCoverOrders)
	}
}
