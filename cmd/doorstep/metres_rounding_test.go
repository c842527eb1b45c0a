package main

import "testing"

// TestMaxDistanceDecimalsKeepTheirMetre: staff type what the volunteer
// says, "2.01 km" or "1.005 km", and were shown it stored a metre short
// (2009, 1004): the product in floating point falls just under the whole
// metre and was cut down to the one below. A distance that is whole metres
// as typed is stored as typed; miles go to the metre below, as before.
func TestMaxDistanceDecimalsKeepTheirMetre(t *testing.T) {
	for _, tc := range []struct {
		given string
		want  int32
	}{
		{"2.01km", 2010},
		{"1.005 km", 1005},
		{"4.35km", 4350},
		{"0.1km", 100},
		{"100km", 100000},
		{"1500", 1500},
		{"100.9m", 100},
		{"10 miles", 16093},
		{"62 miles", 99779},
	} {
		got, err := parseMetres(tc.given)
		if err != nil || got != tc.want {
			t.Errorf("parseMetres(%q) = %d, %v; want %d", tc.given, got, err, tc.want)
		}
	}
}
