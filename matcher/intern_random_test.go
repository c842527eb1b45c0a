package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestInternChurnRandom: a long random run of volunteers joining,
// leaving, moving and changing skills, with more skills than the fast
// checks' 64 and needs whose rules require some of them, while searches
// run beside it; every so often the engine must answer as one loaded
// afresh with the volunteers it holds does, though it has dropped and
// renumbered its postcodes, streets and skills many times over.
func TestInternChurnRandom(t *testing.T) {
	rounds := 30000
	if testing.Short() {
		rounds = 8000
	}
	rng := rand.New(rand.NewPCG(7, 11))
	cfg := DefaultConfig()
	walk := cfg.Needs[pb.Need_NEED_DOG_WALKING]
	walk.Skills = []string{"k2"}
	cfg.Needs[pb.Need_NEED_DOG_WALKING] = walk
	errands := cfg.Needs[pb.Need_NEED_ERRANDS]
	errands.Skills = []string{"k70", "k1"}
	cfg.Needs[pb.Need_NEED_ERRANDS] = errands
	meal := cfg.Needs[pb.Need_NEED_HOT_MEAL]
	meal.Skills = []string{"k90", "k5", "k66"}
	cfg.Needs[pb.Need_NEED_HOT_MEAL] = meal

	e := NewEngine(cfg)
	held := map[string]*pb.Volunteer{}
	etag := map[string]int{}
	unique := 0
	postcode := func() string {
		if rng.IntN(2) == 0 {
			unique++
			return fmt.Sprintf("ZZ%d %d", unique%97, unique)
		}
		return fmt.Sprintf("AB%d %dAA", 10+rng.IntN(3), rng.IntN(4))
	}
	street := func() string {
		switch rng.IntN(3) {
		case 0:
			unique++
			return fmt.Sprintf("Lane %d", unique)
		case 1:
			return ""
		}
		return fmt.Sprintf("Road %d", rng.IntN(5))
	}
	skill := func() string {
		if rng.IntN(3) == 0 {
			unique++
			return fmt.Sprintf("u%d", unique)
		}
		return fmt.Sprintf("k%d", rng.IntN(100))
	}
	newVol := func(name string) *pb.Volunteer {
		v := vol(name, float64(rng.IntN(3000))-1500, float64(rng.IntN(3000))-1500, func(v *pb.Volunteer) {
			v.Home.Postcode, v.Home.Street = postcode(), street()
			v.Capacity = 1 + int32(rng.IntN(2))
			v.Vetting.Level = pb.Vetting_DbsLevel(1 + rng.IntN(3))
			v.MaxDistanceMetres = []int32{1000, 1500, 3000, 8000}[rng.IntN(4)]
			for range rng.IntN(6) {
				v.Skills = append(v.Skills, skill())
			}
			// Keep most of the core skills in use, as a long-lived
			// group's are, while unique ones come and go.
			if rng.IntN(2) == 0 {
				v.Skills = append(v.Skills, "k2", "k70", "k1")
			}
			if rng.IntN(3) == 0 {
				v.Skills = append(v.Skills, "k90", "k5", "k66")
			}
			slices.Sort(v.Skills)
			v.Skills = slices.Compact(v.Skills)
		})
		etag[name]++
		v.Etag = fmt.Sprint(etag[name])
		return v
	}
	request := func(i int) *pb.HelpRequest {
		return req(func(r *pb.HelpRequest) {
			r.Name = fmt.Sprintf("helpRequests/q%d", i)
			lat, lng := offset(float64(rng.IntN(3000))-1500, float64(rng.IntN(3000))-1500)
			r.Location.LatLng = &pb.LatLng{Latitude: lat, Longitude: lng}
			r.Location.Postcode, r.Location.Street = postcode(), street()
			if vs := sortedVols(held); len(vs) > 0 && rng.IntN(2) == 0 {
				v := vs[rng.IntN(len(vs))]
				r.Location.Postcode, r.Location.Street = v.Home.Postcode, v.Home.Street
				if len(v.Skills) > 0 {
					r.RequiredSkills = []string{v.Skills[rng.IntN(len(v.Skills))]}
				}
			}
			r.Needs = []pb.Need{[]pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_DOG_WALKING, pb.Need_NEED_ERRANDS, pb.Need_NEED_HOT_MEAL, pb.Need_NEED_TRANSPORT}[rng.IntN(5)]}
			if rng.IntN(3) == 0 {
				r.RequiredSkills = append(r.RequiredSkills, skill(), skill())
			}
			start := monday.Add(time.Duration(rng.IntN(5*24)) * time.Hour)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(3 * time.Hour))}}
		})
	}

	// Searches beside the churn, for the race detector and the lock.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := req()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.FindCandidates(r, nil, 5, monday); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()

	drops := [3]int{}
	for i := range rounds {
		name := fmt.Sprintf("v%d", rng.IntN(300))
		if _, ok := held["volunteers/"+name]; ok && rng.IntN(4) == 0 {
			e.RemoveVolunteer("volunteers/" + name)
			delete(held, "volunteers/"+name)
		} else {
			v := newVol(name)
			if err := e.UpsertVolunteer(v); err != nil {
				t.Fatal(err)
			}
			held[v.Name] = v
		}
		// A late write of an older record loses, but its skills are met.
		if rng.IntN(20) == 0 {
			if v, ok := held["volunteers/"+name]; ok {
				old := proto.Clone(v).(*pb.Volunteer)
				old.Etag = "0"
				old.Skills = []string{skill(), skill()}
				if err := e.UpsertVolunteer(old); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i%1500 != 1499 {
			continue
		}
		e.mu.RLock()
		drops[0], drops[1], drops[2] = e.postcodes.len(), e.streets.len(), len(e.tags)
		e.mu.RUnlock()
		if i%6000 == 5999 {
			e.Compact()
		}
		fresh := NewEngine(cfg)
		for _, v := range sortedVols(held) {
			if err := fresh.UpsertVolunteer(v); err != nil {
				t.Fatal(err)
			}
		}
		var reqs []DispatchRequest
		for j := range 40 {
			r := request(i*100 + j)
			got, err := e.FindCandidates(r, nil, 5, monday)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.FindCandidates(r, nil, 5, monday)
			if err != nil {
				t.Fatal(err)
			}
			if describe(got) != describe(want) {
				t.Fatalf("round %d: a request at %s, %q, needing %v %v: after the churn\n%s\nloaded afresh\n%s",
					i, r.Location.Postcode, r.Location.Street, r.Needs, r.RequiredSkills, describe(got), describe(want))
			}
			for _, v := range sortedVols(held)[:min(5, len(held))] {
				ok1, x1, err1 := e.Eligible(r, nil, v.Name, monday)
				ok2, x2, err2 := fresh.Eligible(r, nil, v.Name, monday)
				if ok1 != ok2 || x1 != x2 || (err1 == nil) != (err2 == nil) {
					t.Fatalf("round %d: %s for %v %v: %v %+v after the churn, %v %+v afresh", i, v.Name, r.Needs, r.RequiredSkills, ok1, x1, ok2, x2)
				}
			}
			reqs = append(reqs, DispatchRequest{Request: r})
		}
		p1, err := e.PlanDispatch(reqs, 5, monday)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := fresh.PlanDispatch(reqs, 5, monday)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(p1.Offers) != fmt.Sprint(p2.Offers) {
			t.Fatalf("round %d: dispatch after the churn\n%v\nloaded afresh\n%v", i, p1.Offers, p2.Offers)
		}
	}
	t.Logf("at the end: %d postcodes, %d streets, %d skills; %d strings met", drops[0], drops[1], drops[2], unique)
	if drops[2] > 2*200+internSlack || drops[0] > 2*300+internSlack+1 {
		t.Errorf("the tables grew: %v", drops)
	}
}

func sortedVols(m map[string]*pb.Volunteer) []*pb.Volunteer {
	var out []*pb.Volunteer
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *pb.Volunteer) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}
