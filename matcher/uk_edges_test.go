package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// ukPlaces are real places at the country's edges: astride the prime
// meridian (Greenwich, the Lincolnshire and Yorkshire coasts), the far
// south (Scilly, Jersey) and the far north (Lerwick, Unst).
var ukPlaces = []struct {
	name     string
	lat, lng float64
}{
	{"Greenwich", 51.4779, 0.0},
	{"Cleethorpes", 53.5600, -0.0290},
	{"Withernsea", 53.7300, 0.0330},
	{"St Mary's, Scilly", 49.9140, -6.3130},
	{"St Helier", 49.1830, -2.1060},
	{"Lerwick", 60.1550, -1.1450},
	{"Unst", 60.7600, -0.8600},
}

// TestFindCandidatesMatchesBruteForceAcrossTheUK is the brute-force
// comparison drawn not around Aberdeen but across the country's edges:
// longitudes of both signs, the northernmost and southernmost bands.
func TestFindCandidatesMatchesBruteForceAcrossTheUK(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	e := NewEngine(DefaultConfig())
	place := func(lat0, lng0, sigma float64) (float64, float64) {
		return lat0 + rng.NormFloat64()*sigma/111195, lng0 + rng.NormFloat64()*sigma/(111195*math.Cos(lat0*math.Pi/180))
	}
	n := 0
	for _, p := range ukPlaces {
		for range 250 {
			v := tagMixVolunteer(n, rand.New(rand.NewPCG(uint64(n), 1)))
			v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = place(p.lat, p.lng, 2500)
			if err := e.UpsertVolunteer(v); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	found := 0
	check := func(stage string) {
		for range 400 {
			p := ukPlaces[rng.IntN(len(ukPlaces))]
			r := tagMixRequest(rng)
			r.Location.LatLng.Latitude, r.Location.LatLng.Longitude = place(p.lat, p.lng, 3000)
			k := []int{1, 5, 20, 60}[rng.IntN(4)]
			got, err1 := e.FindCandidates(r, nil, k, now)
			want, err2 := bruteFind(e, r, k)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !slices.Equal(got.Exclusions, want.Exclusions) || len(got.Candidates) != len(want.Candidates) {
				t.Fatalf("%s: %s %v k=%d: got %v / %v, want %v / %v", stage, p.name, r.Needs, k, names(got.Candidates), got.Exclusions, names(want.Candidates), want.Exclusions)
			}
			found += len(got.Candidates)
			sameCandidates(t, fmt.Sprintf("%s: %s", stage, p.name), got.Candidates, want.Candidates)
		}
	}
	check("fresh")
	// Volunteers move across the meridian and band edges, and between
	// Shetland and Cornwall.
	for i := range 1500 {
		id := rng.IntN(n)
		v := tagMixVolunteer(id, rand.New(rand.NewPCG(uint64(id), 1)))
		p := ukPlaces[rng.IntN(len(ukPlaces))]
		v.Home.LatLng.Latitude, v.Home.LatLng.Longitude = place(p.lat, p.lng, 2500)
		v.Etag = fmt.Sprint(i + 2)
		if err := e.UpsertVolunteer(v); err != nil {
			t.Fatal(err)
		}
	}
	check("moved")
	e.Compact()
	check("compacted")
	// The comparison means something only if searches there find people.
	if found < 500 {
		t.Fatalf("only %d candidates found in 1200 searches", found)
	}
}
