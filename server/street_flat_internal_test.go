package server

import (
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestHouseOutOfStreetKeepsTheFlat: a caller's address lines start with
// their flat ("Flat 2", "2/1") and the street is typed with the house
// number ("12 Union Street"): the number joins the lines, and the flat
// stays.
func TestHouseOutOfStreetKeepsTheFlat(t *testing.T) {
	for _, lines := range [][]string{{"Flat 2"}, {"Flat 2", "12 Union Street"}, {"2/1"}} {
		loc := &pb.Location{Postcode: "AB10 1AB", Street: "12 Union Street", AddressLines: slices.Clone(lines)}
		var v violations
		houseOutOfStreet(&v, "help_request.location", loc)
		if !slices.Contains(loc.AddressLines, lines[0]) && !slices.ContainsFunc(loc.AddressLines, func(l string) bool {
			return l == "12, "+lines[0] || l == lines[0]+", 12"
		}) {
			t.Errorf("lines %q, street %q: lines now %q, street %q: the caller's %q is lost", lines, "12 Union Street", loc.AddressLines, loc.Street, lines[0])
		}
	}
}
