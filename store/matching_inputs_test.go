package store

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestMatchingInputs checks the one-read view matching uses: the request
// without its personal fields, and the volunteers who fulfilled the same
// requester's other requests, and nobody else's.
func TestMatchingInputs(t *testing.T) {
	s, _ := newStore(t)
	const phone, other = "+447700900700", "+447700900701"
	create := func(p string) *pb.HelpRequest {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", p), Idempotency{})
		mustOK(t, err, "create")
		return hr
	}
	fulfil := func(hr *pb.HelpRequest, v *pb.Volunteer) {
		o := lcOffer(t, s, hr, v)
		lcMust(t, "accept")(s.AcceptOffer(bg, idOf(o.Offer.Name)))
		lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(hr.Name)))
	}
	ann, bob, cat, dan := lcVolunteer(t, s, 5), lcVolunteer(t, s, 5), lcVolunteer(t, s, 5), lcVolunteer(t, s, 5)

	fulfil(create(phone), ann)
	fulfil(create(phone), bob)
	fulfil(create(other), cat) // another requester
	assigned := create(phone)  // the same requester, not yet fulfilled
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, assigned, dan).Offer.Name)))
	current := create(phone)

	hr, prev, err := s.MatchingInputs(bg, idOf(current.Name))
	mustOK(t, err, "matching inputs")
	if hr.Name != current.Name || hr.Location.GetLatLng() == nil || hr.Location.GetStreet() != "Union Street" || len(hr.Needs) != 2 {
		t.Errorf("request %v lacks what matching needs", hr)
	}
	if hr.Requester != nil || hr.Details != "" || len(hr.Location.AddressLines) != 0 {
		t.Errorf("request carries personal fields: %v", hr)
	}
	slices.Sort(prev)
	if want := []string{ann.Name, bob.Name}; !slices.Equal(prev, want) {
		t.Errorf("previous helpers %v, want %v", prev, want)
	}

	// A fulfilled request's own helper is not its previous helper.
	first, _, err := s.ListHelpRequests(bg, HelpRequestFilter{Phone: phone, State: pb.HelpRequest_STATE_FULFILLED}, Page{Size: 1})
	mustOK(t, err, "list")
	_, prev, err = s.MatchingInputs(bg, idOf(first[0].Name))
	mustOK(t, err, "matching inputs of a fulfilled request")
	if len(prev) != 1 || prev[0] == first[0].AssignedVolunteer {
		t.Errorf("previous helpers of %s (fulfilled by %s): %v", first[0].Name, first[0].AssignedVolunteer, prev)
	}

	// Another requester's erasure rotates the keys, and with them every
	// phone hash: the requester's earlier requests are still found.
	_, err = s.ErasePerson(bg, other, time.Now())
	mustOK(t, err, "erase another requester")
	_, prev, err = s.MatchingInputs(bg, idOf(current.Name))
	mustOK(t, err, "matching inputs after a rotation")
	if slices.Sort(prev); !slices.Equal(prev, []string{ann.Name, bob.Name}) {
		t.Errorf("previous helpers after a key rotation %v, want %v", prev, []string{ann.Name, bob.Name})
	}
	verifyIndexes(t, s)

	// Once the requester is erased there is nobody to be continuous with.
	if _, err := s.ErasePerson(bg, phone, time.Now()); err != nil && !errors.Is(err, ErrHasCommitments) {
		t.Fatal(err)
	}
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(assigned.Name)))
	_, err = s.ErasePerson(bg, phone, time.Now())
	mustOK(t, err, "erase")
	hr, prev, err = s.MatchingInputs(bg, idOf(current.Name))
	mustOK(t, err, "matching inputs after erasure")
	if len(prev) != 0 || hr.PersonalDataRemovedTime == nil {
		t.Errorf("after erasure: previous %v, request %v", prev, hr)
	}
	verifyIndexes(t, s)

	for _, id := range []string{"", "nope", "00000000000000000000000000"} {
		if _, _, err := s.MatchingInputs(bg, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("MatchingInputs(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// TestMigrationIndexesPhoneHashesByRequest opens a schema-5 file, which
// has no help_requests/phone_token, and finds it filled: matching still
// knows who helped the requester before.
func TestMigrationIndexesPhoneHashesByRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	clock := newFakeClock() // the requests' window lies in March 2026
	s := openAt(t, path, WithClock(clock.now))
	const phone = "+447700900702"
	ann := lcVolunteer(t, s, 5)
	var reqs []*pb.HelpRequest
	for range 2 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create")
		reqs = append(reqs, hr)
	}
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, reqs[0], ann).Offer.Name)))
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(reqs[0].Name)))
	mustOK(t, s.Close(), "close")
	rewindSchema(t, path, 5, bHelpRequests, bPhoneToken)
	s = openAt(t, path, WithClock(clock.now))
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		checkLayout(t, tx)
		return nil
	}), "view")
	verifyIndexes(t, s)
	_, prev, err := s.MatchingInputs(bg, idOf(reqs[1].Name))
	mustOK(t, err, "matching inputs")
	if !slices.Equal(prev, []string{ann.Name}) {
		t.Errorf("previous helpers after migration %v, want %v", prev, []string{ann.Name})
	}
}

// TestListOpenMatchingInputsPages: the dispatcher's paged read returns
// every OPEN request exactly once across pages, and nothing else.
func TestListOpenMatchingInputsPages(t *testing.T) {
	s, _ := newStore(t)
	want := map[string]bool{}
	for i := range 7 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+44770090080"+string(rune('0'+i))), Idempotency{})
		mustOK(t, err, "create")
		if i%3 == 0 {
			lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(hr.Name)))
			continue
		}
		want[hr.Name] = true
	}
	got := map[string]int{}
	pages := 0
	for tok := ""; ; {
		page, next, err := s.ListOpenMatchingInputs(bg, Page{Size: 2, Token: tok})
		mustOK(t, err, "list")
		pages++
		for _, in := range page {
			got[in.HelpRequest.Name]++
			if in.HelpRequest.Requester != nil || in.HelpRequest.State != pb.HelpRequest_STATE_OPEN {
				t.Errorf("listed %v", in.HelpRequest)
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
	if len(got) != len(want) || pages < 2 {
		t.Errorf("listed %v in %d pages, want %v", got, pages, want)
	}
	for name, n := range got {
		if !want[name] || n != 1 {
			t.Errorf("%s listed %d times (open: %v)", name, n, want[name])
		}
	}
	if _, _, err := s.ListOpenMatchingInputs(bg, Page{Size: 2, Token: "not-a-token"}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("bad token: %v, want ErrBadPageToken", err)
	}
}

// Someone helped every week for a year has more fulfilled requests than
// MatchingInputs reads: it reads the newest, so whoever helps them now
// keeps the continuity bonus, and names each helper once.
func TestMatchingInputsReadsTheNewestHelpers(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900703"
	ann, bob := lcVolunteer(t, s, 5), lcVolunteer(t, s, 5)
	for i := range maxPreviousHelpers + 1 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create")
		v := ann
		if i == maxPreviousHelpers {
			v = bob // the newest
		}
		lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, hr, v).Offer.Name)))
		lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(hr.Name)))
	}
	current, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
	mustOK(t, err, "create")
	_, prev, err := s.MatchingInputs(bg, idOf(current.Name))
	mustOK(t, err, "matching inputs")
	if want := []string{bob.Name, ann.Name}; !slices.Equal(prev, want) {
		t.Errorf("previous helpers %v, want the newest first, once each: %v", prev, want)
	}
}

// Dispatch's read of the open requests, which reads each caller's requests
// once a page, finds what a read of each one alone finds: the caller, and
// the volunteer already going to their door at that time.
func TestOpenMatchingInputsShareTheCallersRequests(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900704"
	var reqs []*pb.HelpRequest
	for range 30 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create")
		reqs = append(reqs, hr)
	}
	other, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB11 5QN", phone), Idempotency{}) // another door
	mustOK(t, err, "create")
	v := lcVolunteer(t, s, 2)
	lcOffer(t, s, reqs[7], v)
	for tok := ""; ; {
		page, next, err := s.ListOpenMatchingInputs(bg, Page{Size: 7, Token: tok})
		mustOK(t, err, "list")
		for _, in := range page {
			hr, prev, err := s.MatchingInputs(bg, idOf(in.HelpRequest.Name))
			mustOK(t, err, "matching inputs")
			if hr.Name != in.HelpRequest.Name || hr.Etag != in.HelpRequest.Etag || !slices.Equal(prev, in.PreviousHelpers) {
				t.Errorf("%s: listed %v %v, alone %v %v", in.HelpRequest.Name, in.HelpRequest, in.PreviousHelpers, hr, prev)
			}
			want := v.Name
			if in.HelpRequest.Name == other.Name {
				want = ""
			}
			if in.Requester == "" || in.Accompany != want {
				t.Errorf("%s: requester %q, accompany %q; want %q", in.HelpRequest.Name, in.Requester, in.Accompany, want)
			}
		}
		if tok = next; tok == "" {
			break
		}
	}
}
