package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTiesAtThePageBoundary: volunteers at one point (a postcode's
// centre) tie on distance. A page of k is the top k of the full ranking
// (ties by name), and a remote request's pool of the nearest is the same
// set, however the engine's ids were dealt out: by the order volunteers
// came, by deletions whose ids were reused, or by Compact.
func TestTiesAtThePageBoundary(t *testing.T) {
	var vols []*pb.Volunteer
	for i := range 70 {
		dn := 0.0
		if i%10 == 0 {
			dn = float64(50 + i) // a few nearer or farther than the crowd
		}
		vols = append(vols, vol(fmt.Sprintf("v%02d", i), 300+dn, 0))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, remote := range []bool{false, true} {
		r := req(func(r *pb.HelpRequest) {
			if remote {
				r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
			}
		})
		var want [][]string
		for round := range 4 {
			e := NewEngine(DefaultConfig())
			order := slices.Clone(vols)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for i, v := range order {
				if err := e.UpsertVolunteer(v); err != nil {
					t.Fatal(err)
				}
				if round >= 2 && i%3 == 0 {
					e.RemoveVolunteer(order[i/2].Name) // its id goes to the next to come
					if err := e.UpsertVolunteer(order[i/2]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if round == 3 {
				e.Compact()
			}
			full, err := e.FindCandidates(r, nil, 100, now)
			if err != nil {
				t.Fatal(err)
			}
			for k := 1; k <= len(full.Candidates); k++ {
				res, err := e.FindCandidates(r, nil, k, now)
				if err != nil {
					t.Fatal(err)
				}
				got := names(res.Candidates)
				if round == 0 {
					want = append(want, got)
				} else if !slices.Equal(got, want[k-1]) {
					t.Fatalf("remote %v, round %d: a page of %d is %v, first dealt out %v", remote, round, k, got, want[k-1])
				}
				if !remote && !slices.Equal(got, names(full.Candidates[:k])) {
					t.Fatalf("round %d: a page of %d is %v, the top of the full ranking %v", round, k, got, names(full.Candidates[:k]))
				}
			}
		}
	}
}

// TestCrowdsAtFewPoints: where volunteers live in crowds at a few points
// (each a postcode's centre), nearly every boundary a search draws falls
// within a crowd, and the search takes in the rest of it before ranking.
// Whatever pool it ranks, a page is the top k of everyone eligible, as
// checking everyone gives it, for crowds of every size, those beyond the
// first look included.
func TestCrowdsAtFewPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	var vols []*pb.Volunteer
	for p := range 40 {
		dn, de := rng.Float64()*3000-1500, rng.Float64()*3000-1500
		crowd := 1 + rng.IntN(30)
		if p%10 == 0 {
			crowd = 150 // more than a search of 20 first looks at
		}
		for i := range crowd {
			vols = append(vols, vol(fmt.Sprintf("p%02d-%03d", p, i), dn, de, func(v *pb.Volunteer) {
				switch rng.IntN(8) {
				case 0:
					v.Home.Street = "Union Street" // the request's: a bonus
				case 1:
					v.Home.Postcode = "AB10 1AB"
				case 2:
					v.MaxDistanceMetres = 800
				}
			}))
		}
	}
	e := engineWith(t, vols...)
	for range 40 {
		r := req()
		r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = offset(rng.Float64()*3000-1500, rng.Float64()*3000-1500)
		for _, k := range []int{1, 7, 20, 64} {
			got, err := e.FindCandidates(r, nil, k, now)
			if err != nil {
				t.Fatal(err)
			}
			want, err := bruteFind(e, r, k)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(got.Candidates), names(want.Candidates)) {
				t.Fatalf("k=%d at %v: got %v, want %v", k, r.Location.LatLng, names(got.Candidates), names(want.Candidates))
			}
			got.Release()
		}
	}
}
