package main

import "testing"

// Distances read as the candidates' own sentences say them, so that the
// helpline never hears "1000 m" from one and "1.0 km" from the other.
func TestFmtDistance(t *testing.T) {
	for _, c := range []struct {
		m    float64
		want string
	}{
		{0, "under 10 m"},
		{347, "350 m"},
		{994.9, "990 m"},
		{995, "1.0 km"},
		{1050, "1.1 km"},
	} {
		if got := fmtDistance(c.m); got != c.want {
			t.Errorf("fmtDistance(%v) = %q, want %q", c.m, got, c.want)
		}
	}
}
