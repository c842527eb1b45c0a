package main

import "testing"

// TestMaxDistanceAnySpace: "10 miles" copied from a volunteer's e-mail or
// a web form often carries a no-break space (U+00A0, or U+202F as some
// word processors put between a number and its unit), or a tab from a
// spreadsheet. It was refused with "such as ... 10 miles", which is what
// was typed; every kind of space is a space, as in postcodes.
func TestMaxDistanceAnySpace(t *testing.T) {
	for _, given := range []string{"10\u00a0miles", "10\u202fmiles", "10\tmiles", "16\u2009km"} {
		got, err := parseMetres(given)
		if err != nil || got < 16000 || got > 16100 {
			t.Errorf("parseMetres(%q) = %d, %v; want about 16 km", given, got, err)
		}
	}
}
