package main

import (
	"regexp"
	"testing"
)

// TestEditToUnknownPostcodeWithCoordinates: a caller or volunteer who
// moves to a postcode the directory does not know yet (a new build) is
// told to give the address's coordinates with --lat and --lng, so the
// edit commands must take them, as request new and volunteer new do.
func TestEditToUnknownPostcodeWithCoordinates(t *testing.T) {
	e, callum, req, _ := offeredRequest(t)
	for _, tc := range []struct {
		kind, id, changed string
	}{
		{"request", req, `location.postcode, location.lat_lng`},
		{"volunteer", callum, `home.postcode, home.street, home.address_lines, home.lat_lng`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			checkFailure(t, e.run(tc.kind, "edit", tc.id, "--postcode", "AB99 9ZZ"), true, exitUsage,
				"The postcode AB99 9ZZ is not known (*). Give the address's coordinates (--lat, --lng) or check the postcode.")
			checkFailure(t, e.run(tc.kind, "edit", tc.id, "--postcode", "AB99 9ZZ", "--lat", "57.16"), true, exitUsage,
				"--lng: give --lat and --lng together.")
			out := e.ok(tc.kind, "edit", tc.id, "--postcode", "AB99 9ZZ", "--lat", "57.16", "--lng", "-2.11")
			if w := `(?m)^Changed ` + regexp.QuoteMeta(tc.id) + ` \(` + regexp.QuoteMeta(tc.changed) + `\)\.$`; !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("%s edit to a new postcode with its coordinates:\n%s\nwant a line matching %s", tc.kind, out, w)
			}
		})
	}
}
