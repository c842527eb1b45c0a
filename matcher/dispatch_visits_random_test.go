package matcher

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDispatchRandomVisitsKeepOneVolunteerPerDoor plans small random runs
// in which callers already have volunteers coming (Accompany, Crowded, as
// the store reports them), requests of several urgencies chain through
// meeting windows, some with the street left out, and volunteers have
// little room: what oneVolunteerPerDoor holds back and what it lets keep
// its own volunteer. No offer may send a volunteer to a door at a time
// another is coming (a visit) or planned (another offer of the run). Some
// requests are befriending calls from afar (Remote), which go to the door
// for nobody: they are told of visits all the same, which they are to
// ignore, and may go to anyone.
// TestDispatchRandomKeepsItsPromises has neither visits nor blank streets.
// DISPATCH_VISITS_SEEDS sets the number of seeds.
func TestDispatchRandomVisitsKeepOneVolunteerPerDoor(t *testing.T) {
	seeds := 2000
	if s := os.Getenv("DISPATCH_VISITS_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	at := func(h int) *timestamppb.Timestamp { return timestamppb.New(monday.Add(time.Duration(h) * time.Hour)) }
	type visit struct {
		caller   int
		street   string
		from, to int
		vol      string
	}
	streets := []string{"Street A", "Street B", ""}
	bad := 0
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		var vols []*pb.Volunteer
		nv := 2 + rng.IntN(4)
		for i := range nv {
			c := int32(1 + rng.IntN(2))
			vols = append(vols, vol(fmt.Sprintf("v%d", i), rng.Float64()*1000-500, rng.Float64()*1000-500, func(v *pb.Volunteer) {
				v.Capacity, v.MaxDistanceMetres = c, 3000
				v.Availability.Weekly = everyDay(0, 24)
				v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_BASIC} // for the calls
			}))
		}
		e := engineWith(t, vols...)
		// Visits are requests of the callers' already offered or
		// assigned, outside the run: each request meeting one at its door
		// is told of it as the store tells it (matchingInput).
		var visits []visit
		for range rng.IntN(3) {
			f := 8 + rng.IntN(10)
			visits = append(visits, visit{rng.IntN(2), streets[rng.IntN(2)], f, f + 1 + rng.IntN(3), fmt.Sprintf("v%d", rng.IntN(nv))})
		}
		meet := func(a1, a2, b1, b2 int) bool { return a1 < b2 && b1 < a2 }
		// A street left out may be any of the caller's (samePlace).
		same := func(s1, s2 string) bool { return s1 == s2 || s1 == "" || s2 == "" }
		var drs []DispatchRequest
		type info struct {
			caller   int
			street   string
			from, to int
			remote   bool
		}
		var infos []info
		for i := range 2 + rng.IntN(7) {
			from := 8 + rng.IntN(10)
			to := from + 1 + rng.IntN(4)
			caller := rng.IntN(2)
			st := streets[rng.IntN(3)]
			u := pb.Urgency(1 + rng.IntN(4))
			remote := rng.IntN(4) == 0
			dr := DispatchRequest{Requester: fmt.Sprint("caller", caller)}
			for _, v := range visits {
				if v.caller == caller && same(v.street, st) && meet(from, to, v.from, v.to) {
					switch dr.Accompany {
					case "":
						dr.Accompany = v.vol
					case v.vol:
					default:
						dr.Crowded = true
					}
				}
			}
			dn, de := float64(caller*300), float64(caller*-200)
			dr.Request = req(func(r *pb.HelpRequest) {
				r.Name = fmt.Sprintf("helpRequests/r%d", i)
				r.Urgency = u
				lat, lng := offset(dn, de)
				r.Location = &pb.Location{Postcode: "AB10 1AB", Street: st, LatLng: &pb.LatLng{Latitude: lat, Longitude: lng}}
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: at(from), EndTime: at(to)}}
				if remote {
					r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
				}
			})
			drs = append(drs, dr)
			infos = append(infos, info{caller, st, from, to, remote})
		}
		plan, err := e.PlanDispatch(drs, 20, now)
		if err != nil {
			t.Fatal(err)
		}
		idx := map[string]int{}
		for i, dr := range drs {
			idx[dr.Request.Name] = i
		}
		for _, o := range plan.Offers {
			a := infos[idx[o.HelpRequest]]
			if a.remote {
				continue
			}
			for _, v := range visits {
				if v.caller == a.caller && same(v.street, a.street) && meet(a.from, a.to, v.from, v.to) && v.vol != o.Volunteer {
					bad++
					if bad < 20 {
						t.Errorf("seed %d: %s (%+v) to %s, visit %+v", seed, o.HelpRequest, a, o.Volunteer, v)
					}
				}
			}
			for _, p := range plan.Offers {
				b := infos[idx[p.HelpRequest]]
				if p.Volunteer != o.Volunteer && !b.remote && a.caller == b.caller && same(a.street, b.street) && meet(a.from, a.to, b.from, b.to) {
					bad++
					if bad < 20 {
						t.Errorf("seed %d: %s (%+v) to %s and %s (%+v) to %s", seed, o.HelpRequest, a, o.Volunteer, p.HelpRequest, b, p.Volunteer)
					}
				}
			}
		}
	}
}
