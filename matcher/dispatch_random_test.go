package matcher

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDispatchRandomKeepsItsPromises plans many small random runs with
// capacities above one, narrow windows and callers with several requests,
// where plans are moved about after solving (clashes, one volunteer to a
// door), and checks what each plan promises: every offer to a candidate
// of its request, nobody beyond their room, nobody at two places at once,
// and one volunteer to one door at one time.
func TestDispatchRandomKeepsItsPromises(t *testing.T) {
	at := func(h int) *timestamppb.Timestamp { return timestamppb.New(monday.Add(time.Duration(h) * time.Hour)) }
	for seed := range 400 {
		rng := rand.New(rand.NewPCG(uint64(seed), 3))
		var vols []*pb.Volunteer
		for i := range 2 + rng.IntN(4) {
			c := int32(1 + rng.IntN(3))
			reach := int32(800 + rng.IntN(1000))
			vols = append(vols, vol(fmt.Sprintf("v%d", i), rng.Float64()*2000-1000, rng.Float64()*2000-1000, func(v *pb.Volunteer) {
				v.Capacity, v.MaxDistanceMetres = c, reach
				v.Availability.Weekly = everyDay(0, 24)
				if rng.IntN(2) == 0 {
					v.Skills = []string{"welsh"}
				}
			}))
		}
		e := engineWith(t, vols...)
		var drs []DispatchRequest
		for i := range 2 + rng.IntN(6) {
			from, long := 10+rng.IntN(3), 1+rng.IntN(2)
			u := pb.Urgency(1 + rng.IntN(4))
			caller := rng.IntN(3)
			dn, de := float64(caller*300), float64(caller*-200)
			welsh := rng.IntN(3) == 0
			drs = append(drs, DispatchRequest{Requester: fmt.Sprint("caller", caller), Request: req(func(r *pb.HelpRequest) {
				r.Name = fmt.Sprintf("helpRequests/r%d", i)
				r.Urgency = u
				lat, lng := offset(dn, de)
				r.Location = &pb.Location{Postcode: "AB10 1AB", Street: fmt.Sprint("Street ", caller), LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: at(from), EndTime: at(from + long)}}
				if welsh {
					r.RequiredSkills = []string{"welsh"}
				}
			})})
		}
		plan, err := e.PlanDispatch(drs, 20, now)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]DispatchRequest{}
		for _, dr := range drs {
			byName[dr.Request.Name] = dr
		}
		jobs := map[string][]commitment{}
		doors := map[string]string{}
		for _, o := range plan.Offers {
			dr := byName[o.HelpRequest]
			res, err := e.FindCandidates(dr.Request, nil, 20, now)
			if err != nil {
				t.Fatal(err)
			}
			if !containsName(res.Candidates, o.Volunteer) {
				t.Errorf("seed %d: %s offered to %s, not a candidate", seed, o.HelpRequest, o.Volunteer)
			}
			q, _ := e.prepare(dr.Request, nil, now)
			jobs[o.Volunteer] = append(jobs[o.Volunteer], commitment{place: q.place, job: q.job})
			for _, other := range plan.Offers {
				od := byName[other.HelpRequest]
				if other.Volunteer != o.Volunteer && od.Requester == dr.Requester && windowsMeetPB(od.Request, dr.Request) {
					doors[o.HelpRequest] = other.HelpRequest
				}
			}
		}
		for name, js := range jobs {
			id, _ := e.ids.find(e, name)
			if v := &e.vols[id]; int32(len(js)) > v.capacity {
				t.Errorf("seed %d: %s has %d offers, room for %d", seed, name, len(js), v.capacity)
			}
			if !fits(rounds(now.Unix(), js)) {
				t.Errorf("seed %d: %s is offered jobs that clash", seed, name)
			}
		}
		for a, b := range doors {
			t.Errorf("seed %d: %s and %s, at one door at one time, went to two volunteers", seed, a, b)
		}
	}
}

func containsName(cs []Candidate, name string) bool {
	for _, c := range cs {
		if c.Volunteer == name {
			return true
		}
	}
	return false
}

func windowsMeetPB(a, b *pb.HelpRequest) bool {
	aw, bw := a.GetWindow(), b.GetWindow()
	return aw.GetStartTime().AsTime().Before(bw.GetEndTime().AsTime()) && bw.GetStartTime().AsTime().Before(aw.GetEndTime().AsTime())
}
