package main

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestMaxDistanceInMiles: in rural England a volunteer says how far they
// will drive in miles ("up to ten miles"), as the road signs do, and staff
// type what they hear. It is taken, in metres to the metre below; more
// than 100 km in miles is refused as it is in kilometres.
func TestMaxDistanceInMiles(t *testing.T) {
	e := newTestEnv(t)
	for i, tc := range []struct {
		given string
		want  int32 // 0: refused
	}{
		{"10 miles", 16093},
		{"10mi", 16093},
		{"1 mile", 1609},
		{"12.5 Miles", 20116},
		{"62 miles", 99779},
		{"63 miles", 0},
		{"20 km", 20000},
	} {
		r := e.run("volunteer", "add", "--name", "Olive", "--phone", fmt.Sprintf("07700 9002%02d", i), "--postcode", "AB10 1AF",
			"--travel", "car", "--available", "daily 08:00-20:00", "--org", org, "--max-distance", tc.given, "--json")
		if tc.want == 0 {
			checkFailure(t, r, true, exitUsage, "--max-distance: give a distance from 100m to 100km, such as 1500, 2km or 10 miles.")
			continue
		}
		var got struct {
			Volunteer struct {
				MaxDistanceMetres int32 `json:"max_distance_metres"`
			} `json:"volunteer"`
			MaxDistanceMetres int32 `json:"max_distance_metres"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Errorf("--max-distance %q: exit %d, stdout %q, stderr %q", tc.given, r.code, r.stdout, r.stderr)
			continue
		}
		if m := max(got.MaxDistanceMetres, got.Volunteer.MaxDistanceMetres); m != tc.want {
			t.Errorf("--max-distance %q stored %d metres, want %d", tc.given, m, tc.want)
		}
	}
}
