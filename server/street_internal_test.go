package server

import "testing"

// TestSplitHouse: what leads a street typed as an address goes to the
// address lines; a street whose name has a number stays whole.
func TestSplitHouse(t *testing.T) {
	for _, tc := range []struct{ in, house, name string }{
		{"Flat 2, 12 Union St", "Flat 2, 12", "Union St"},
		{"12 Union St", "12", "Union St"},
		{"12a Union St", "12a", "Union St"},
		{"2/1 Union St", "2/1", "Union St"},
		{"10-12 Union St", "10-12", "Union St"},
		{"2nd Avenue", "", "2nd Avenue"},
		{"1st Street", "", "1st Street"},
		{"Union St", "", "Union St"},
		{"Union St, Aberdeen", "", "Union St, Aberdeen"},
		{"2/1 45 Main St", "2/1, 45", "Main St"},
		{"Flat 2 12 Union St", "Flat 2, 12", "Union St"},
		{"Flat 2, Union St", "Flat 2", "Union St"},
		{"Unit 3 Harbour Rd", "Unit 3", "Harbour Rd"},
		{"Flat Street", "", "Flat Street"},
		{"12 – 14 Union St", "12-14", "Union St"},
		{"Flat ٢ 12 Union St", "Flat ٢, 12", "Union St"}, // digits of another script
		{"12", "", "12"},                                 // a number alone is left to the rules on streets
		{"", "", ""},
	} {
		if house, name := splitHouse(tc.in); house != tc.house || name != tc.name {
			t.Errorf("splitHouse(%q) = %q, %q; want %q, %q", tc.in, house, name, tc.house, tc.name)
		}
	}
}
