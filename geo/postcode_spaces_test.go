package geo

import "testing"

// TestPostcodeOtherSpaces: a postcode copied from a web page or a
// document is often spaced with a narrow no-break or thin space (what a
// typesetting program or a CMS puts between a postcode's halves), or, from
// a Japanese or Chinese keyboard, an ideographic space; it reads as "AB10
// 1AB" and was refused as not a UK postcode, and as a district ("AB10 "
// with a thin space) too.
func TestPostcodeOtherSpaces(t *testing.T) {
	for _, s := range []string{"AB10\u202f1AB", "AB10\u20091AB", "AB10\u30001AB", "AB10\u2007 1AB"} {
		if got, err := NormalisePostcode(s); err != nil || got != "AB10 1AB" {
			t.Errorf("NormalisePostcode(%q) = %q, %v; want AB10 1AB", s, got, err)
		}
	}
	for _, tc := range []struct{ in, want string }{{"AB10\u2009", "AB10 "}, {"AB10\u202f1", "AB10 1"}} {
		if got, err := NormalisePostcodePrefix(tc.in); err != nil || got != tc.want {
			t.Errorf("NormalisePostcodePrefix(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
