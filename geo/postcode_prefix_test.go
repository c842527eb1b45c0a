package geo

import "testing"

// A sector typed with its space ("M1 1", "AB1 0") names sector 1 of
// district M1, not district M11: the space is what tells them apart, as
// NormalisePostcodePrefix's own comment says; "M11" would select another
// area.
func TestPrefixSectorWithSpaceIsNotADistrict(t *testing.T) {
	for in, want := range map[string]string{
		"M1 1":  "M1 1",  // Manchester city centre, not M11 (Openshaw)
		"E1 6":  "E1 6",  // Whitechapel, not E16 (Canning Town)
		"G1 1":  "G1 1",  // Glasgow, not G11 (Partick)
		"AB1 0": "AB1 0", // the old Aberdeen AB1 0 sector, not AB10
		"b1 1":  "B1 1",
	} {
		got, err := NormalisePostcodePrefix(in)
		if err != nil || got != want {
			t.Errorf("NormalisePostcodePrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Unchanged: a district typed alone stays a district.
	for in, want := range map[string]string{"M11": "M11 ", "AB10": "AB10 ", "ab1": "AB1 "} {
		if got, err := NormalisePostcodePrefix(in); err != nil || got != want {
			t.Errorf("NormalisePostcodePrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
