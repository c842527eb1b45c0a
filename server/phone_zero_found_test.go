package server_test

import (
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTrunkZeroStoredEarlierFound: a find by a caller's number from
// abroad, as given today, found none of the requests (nor volunteer
// records) an older version stored with the zero after the country code,
// though an erasure by it took them: the helpline took a new request for
// a need already in hand, and the admin's erasure prompt, which lists
// by each form, counted each record twice.
func TestTrunkZeroStoredEarlierFound(t *testing.T) {
	h := newHarness(t)
	const stored, today = "+3530871234567", "+353871234567"
	old := h.createHR(shopping(callerPhone(today)))
	legacyRequest(t, h, old.Name, func(r *pb.HelpRequest) { r.Requester.Phone = stored })
	now := h.createHR(shopping(callerPhone("+353 (0)87 123 4567")))
	vol := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned(today)))
	legacyVolunteer(t, h, vol.Name, func(v *pb.Volunteer) { v.Contact.Phone = stored })
	upgradeFrom13(t, h)
	for _, given := range []string{"+353 (0)87 123 4567", "+353 087 123 4567"} {
		var names []string
		for tok := ""; ; {
			resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{RequesterPhone: given, PageSize: 1, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range resp.HelpRequests {
				names = append(names, r.Name)
			}
			if tok = resp.NextPageToken; tok == "" {
				break
			}
		}
		if want := []string{old.Name, now.Name}; !slices.Equal(names, want) {
			t.Errorf("find by %q, a page of one at a time: %v, want %v", given, names, want)
		}
		vs, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{Phone: given})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs.Volunteers) != 1 || vs.Volunteers[0].Name != vol.Name {
			t.Errorf("volunteers by %q: %d, want %s", given, len(vs.Volunteers), vol.Name)
		}
	}
}
