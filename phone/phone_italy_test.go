package phone

import "testing"

// TestTrunkZeroKeptWhereDialled: an Italian number is printed on
// English-language cards and web pages as "+39 (0)6 1234 5678", the zero
// in brackets by the habit of other countries; but Italy's numbers keep
// it from abroad (as San Marino's do), and stored without it, +39612345678,
// the volunteer rang a number that does not exist. Elsewhere the bracketed
// zero is still dropped.
func TestTrunkZeroKeptWhereDialled(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+39 (0)6 1234 5678", "+390612345678"},
		{"0039 (0)55 123 4567", "+390551234567"},
		{"(+39) (0)2 1234 5678", "+390212345678"},
		{"+378 (0)549 123456", "+3780549123456"},
		{"+353 (0)87 123 4567", "+353871234567"},
		{"+33 (0)6 12 34 56 78", "+33612345678"},
	} {
		if got, err := Normalise(tc.in); err != nil || got != tc.want {
			t.Errorf("Normalise(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
