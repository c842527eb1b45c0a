package store

import (
	"fmt"
	"slices"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// An organisation's open requests are found on the first page however
// many of its requests closed before them: a partner's token always lists
// by organisation, and after a year of use the open few came after a
// hundred thousand closed ones, page after empty page.
func TestListLiveStateByOrganisationSkipsHistory(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	for i := range 3 * maxScanned {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("old-%d", i), "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "cancel")
	}
	var want []string
	for i := range 3 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("new-%d", i), "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		want = append(want, hr.Name)
	}
	other, err := s.CreateHelpRequest(bg, newHelpRequest("org-b", "b-1", "AB10 1AB", ""), Idempotency{})
	mustOK(t, err, "create")

	page, tok, err := s.ListHelpRequests(bg, HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, Organisation: "org-a"}, Page{Size: 10})
	mustOK(t, err, "list")
	if !slices.Equal(names(page), want) || tok != "" {
		t.Fatalf("first page of org-a's open requests = %v, token %q; want %v and no token", names(page), tok, want)
	}
	// Pages of one still go oldest first and end.
	if got := names(listAllHR(t, s, HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, Organisation: "org-a"}, 1)); !slices.Equal(got, want) {
		t.Errorf("following tokens found %v, want %v", got, want)
	}
	if got := names(listAllHR(t, s, HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, Organisation: "org-b"}, 10)); !slices.Equal(got, []string{other.Name}) {
		t.Errorf("org-b's open requests = %v, want %v", got, other.Name)
	}
	if got := listAllHR(t, s, HelpRequestFilter{State: pb.HelpRequest_STATE_CANCELLED, Organisation: "org-a"}, 50); len(got) != 3*maxScanned {
		t.Errorf("org-a's cancelled requests: %d, want %d", len(got), 3*maxScanned)
	}
}

// The offers in force (ListOffers live, with no volunteer or request) are
// found on the first page however many offers were made before them: the
// walk went over every offer ever made, and after a year the helpline's
// "doorstep offer list --live" read 17 empty pages first.
func TestListLiveOffersSkipsHistory(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	v := lcVolunteer(t, s, 5)
	for range 2 * maxScanned {
		r := lcRequest(t, s)
		lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, r, v).Offer.Name)))
		lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(r.Name)))
	}
	declined := lcRequest(t, s)
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(lcOffer(t, s, declined, v).Offer.Name)))
	assigned := lcOffer(t, s, lcRequest(t, s), v).Offer.Name
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(assigned)))
	pending := lcOffer(t, s, lcRequest(t, s), v).Offer.Name
	// One whose request is then cancelled: ACCEPTED still, but in force no more.
	r := lcRequest(t, s)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, r, v).Offer.Name)))
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(r.Name)))

	page, tok, err := s.ListOffers(bg, OfferFilter{Live: true}, Page{Size: 10})
	mustOK(t, err, "list")
	if got, want := names(page), []string{assigned, pending}; !slices.Equal(got, want) || tok != "" {
		t.Fatalf("offers in force = %v, token %q; want %v and no token", got, tok, want)
	}
	if got, want := listAllOffers(t, s, OfferFilter{Live: true}, 1), []string{assigned, pending}; !slices.Equal(got, want) {
		t.Errorf("a page at a time: %v, want %v", got, want)
	}
	if got, want := listAllOffers(t, s, OfferFilter{Live: true, State: pb.Offer_STATE_ACCEPTED}, 1), []string{assigned}; !slices.Equal(got, want) {
		t.Errorf("accepted and in force: %v, want %v", got, want)
	}
}

// A district's open requests come on the first page, by postcode then
// age as by_postcode orders them, however many requests were made there
// before: after a year the helpline's "open requests in AB10" read 35,000
// closed ones over four calls to find fifteen.
func TestListLiveStateByPostcodeSkipsHistory(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	s, _ := newStore(t)
	for i := range 3 * maxScanned {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("old-%d", i), "AB10 1AB", ""), Idempotency{})
		mustOK(t, err, "create")
		_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "cancel")
	}
	create := func(org, postcode string) string {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest(org, "", postcode, ""), Idempotency{})
		mustOK(t, err, "create")
		return hr.Name
	}
	b1 := create("org-a", "AB10 2ZZ")
	a1 := create("org-a", "AB10 1AB")
	create("org-a", "AB11 5AA") // another district
	b2 := create("org-b", "AB10 2ZZ")
	a2 := create("org-b", "AB10 1AB")
	want := []string{a1, a2, b1, b2}

	f := HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, PostcodePrefix: "AB10 "}
	page, tok, err := s.ListHelpRequests(bg, f, Page{Size: 10})
	mustOK(t, err, "list")
	if !slices.Equal(names(page), want) || tok != "" {
		t.Fatalf("first page of AB10's open requests = %v, token %q; want %v and no token", names(page), tok, want)
	}
	if got := names(listAllHR(t, s, f, 1)); !slices.Equal(got, want) {
		t.Errorf("a page at a time: %v, want %v", got, want)
	}
	f.Organisation = "org-b"
	if got := names(listAllHR(t, s, f, 1)); !slices.Equal(got, []string{a2, b2}) {
		t.Errorf("org-b's: %v, want %v", got, []string{a2, b2})
	}
	f = HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, PostcodePrefix: "AB10 2ZZ"}
	if got := names(listAllHR(t, s, f, 10)); !slices.Equal(got, []string{b1, b2}) {
		t.Errorf("at AB10 2ZZ: %v, want %v", got, []string{b1, b2})
	}
	if got := listAllHR(t, s, HelpRequestFilter{State: pb.HelpRequest_STATE_CANCELLED, PostcodePrefix: "AB10 1"}, 50); len(got) != 3*maxScanned {
		t.Errorf("AB10 1's cancelled requests: %d, want %d", len(got), 3*maxScanned)
	}
	// With more open requests than are read and sorted for a page (a
	// city's backlog), by_postcode is walked as before, to the same list;
	// and a token from either walk goes on in the other.
	defer func(n int) { maxLiveSort = n }(maxLiveSort)
	maxLiveSort = 2
	f = HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, PostcodePrefix: "AB10 "}
	if got := names(listAllHR(t, s, f, 1)); !slices.Equal(got, want) {
		t.Errorf("past maxLiveSort: %v, want %v", got, want)
	}
	maxLiveSort = 100
	first, tok, err := s.ListHelpRequests(bg, f, Page{Size: 2})
	mustOK(t, err, "list")
	maxLiveSort = 2
	got := names(first)
	for tok != "" {
		var page []*pb.HelpRequest
		page, tok, err = s.ListHelpRequests(bg, f, Page{Size: 2, Token: tok})
		mustOK(t, err, "list")
		got = append(got, names(page)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("a token from the sorted walk, then by_postcode: %v, want %v", got, want)
	}
}

// One group's open requests are found on the first page however many
// requests another group has open: in a county's deployment a food bank's
// bulk intake left thousands open at once, and every other partner's list
// of its own open requests (a partner's token always lists by
// organisation) walked all of them first, page after empty page, each a
// call against the partner's own rate. Either group's history, or either
// group's backlog, is passed over.
func TestListLiveStateByOrganisationSkipsOtherGroupsBacklog(t *testing.T) {
	defer func(n int) { maxScanned = n }(maxScanned)
	maxScanned = 20
	for _, tc := range []struct {
		name                 string
		otherOpen, ownClosed int
		ownOpen, otherClosed int
	}{
		{name: "another group's intake open", otherOpen: 3 * maxScanned, ownOpen: 2},
		{name: "its own history closed", ownClosed: 3 * maxScanned, ownOpen: 2, otherOpen: 5},
		{name: "another group's history closed", otherClosed: 3 * maxScanned, ownOpen: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			create := func(org string, n int, closed bool) []string {
				var out []string
				for range n {
					hr, err := s.CreateHelpRequest(bg, newHelpRequest(org, "", "AB10 1AB", ""), Idempotency{})
					mustOK(t, err, "create")
					if closed {
						_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
						mustOK(t, err, "cancel")
					}
					out = append(out, hr.Name)
				}
				return out
			}
			create("granite-food-bank", tc.otherClosed, true)
			create("dee-mutual-aid", tc.ownClosed, true)
			other := create("granite-food-bank", tc.otherOpen, false)
			want := create("dee-mutual-aid", tc.ownOpen, false)

			f := HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN, Organisation: "dee-mutual-aid"}
			got, pages := collectPages(t, 10, func(p Page) ([]*pb.HelpRequest, string, error) { return s.ListHelpRequests(bg, f, p) })
			if !slices.Equal(names(got), want) || pages != 1 {
				t.Errorf("dee-mutual-aid's open requests: %v in %d calls; want %v in 1", names(got), pages, want)
			}
			// A page at a time, each page's token taken up by whichever walk
			// the next call makes, finds the same.
			if got := names(listAllHR(t, s, f, 1)); !slices.Equal(got, want) {
				t.Errorf("a page at a time: %v, want %v", got, want)
			}
			f.Organisation = "granite-food-bank"
			if got := names(listAllHR(t, s, f, 7)); !slices.Equal(got, other) {
				t.Errorf("granite-food-bank's open requests: %d, want %d", len(got), len(other))
			}
		})
	}
}
