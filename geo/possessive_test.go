package geo

import "testing"

// TestPossessiveWithTrailingPunctuation: "King's, not King'S", however the
// word ends.
func TestPossessiveWithTrailingPunctuation(t *testing.T) {
	for in, want := range map[string]string{
		"st john's.":  "St John's.",
		"king's,":     "King's,",
		"ST MARY'S, ": "St Mary's,",
	} {
		if got := NormaliseStreet(in); got != want {
			t.Errorf("NormaliseStreet(%q) = %q, want %q", in, got, want)
		}
	}
}
