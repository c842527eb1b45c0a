package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTiedCandidatesPageIsTheTopOfTheRanking: volunteers who gave only
// their postcode all live at its centre, the same distance from every
// door, and tie. A short page must be the top of the full ranking (ties
// by name), as the running server has it and as it has it after a
// restart: which of them a helpline is shown, or a dispatch offers the
// job to, must not depend on the order the server happened to file them
// in, which deleting a volunteer changes and a restart changes again.
func TestTiedCandidatesPageIsTheTopOfTheRanking(t *testing.T) {
	h := newHarness(t)
	at := func(name string) *pb.Volunteer {
		return matchVolunteer(name, "AB10 1AF", func(v *pb.Volunteer) { v.Home.Street = "Crown Street" })
	}
	gone := h.createVol(at("Xander"))
	h.createVol(at("Ailsa"))
	h.createVol(at("Bruce"))
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: gone.Name}); err != nil {
		t.Fatal(err)
	}
	h.createVol(at("Catriona")) // filed where Xander was
	hr := h.createHR(shopping())
	page := func(k int32) []string {
		t.Helper()
		resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: k})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range resp.Candidates {
			out = append(out, c.DisplayName)
		}
		return out
	}
	for _, when := range []string{"running", "after a restart"} {
		if when != "running" {
			h.reopen()
		}
		all, short := page(100), page(2)
		if len(all) != 3 || len(short) != 2 || short[0] != all[0] || short[1] != all[1] {
			t.Errorf("%s: a page of 2 is %v, the full ranking %v", when, short, all)
		}
	}
}
