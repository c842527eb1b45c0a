package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A page token goes on with its own listing and is refused by every other
// one a caller may make, of whatever list: the same caller's filters over
// one kind of record (one organisation's requests, and the open ones of
// it), which stop on the same id and seal the same suffix, differ only in
// the additional data.
func TestPageTokenTakenByItsOwnListingOnly(t *testing.T) {
	s, _ := newStore(t)
	a := lcVolunteer(t, s, 5)
	for range 3 {
		lcOffer(t, s, lcRequest(t, s), a)
		_, err := s.CreateHelpRequest(bg, newHelpRequest("org-b", "", "AB11 5QN", fmt.Sprintf("+4477009%05d", lcSeq.Add(1))), Idempotency{})
		mustOK(t, err, "create org-b's")
		_, err = s.CreateVolunteer(bg, newVolunteer("org-b", "AB11 5QN", fmt.Sprintf("+4477008%05d", lcSeq.Add(1)), "driver"), Idempotency{})
		mustOK(t, err, "create org-b's volunteer")
	}
	for range 2 {
		lcRequest(t, s)
	}
	page := func(list func(Page) (int, string, error)) func(string) (string, error) {
		return func(token string) (string, error) {
			_, next, err := list(Page{Size: 1, Token: token})
			return next, err
		}
	}
	hrs := func(f HelpRequestFilter) func(string) (string, error) {
		return page(func(p Page) (int, string, error) { r, n, err := s.ListHelpRequests(bg, f, p); return len(r), n, err })
	}
	vols := func(f VolunteerFilter) func(string) (string, error) {
		return page(func(p Page) (int, string, error) { r, n, err := s.ListVolunteers(bg, f, p); return len(r), n, err })
	}
	offers := func(f OfferFilter) func(string) (string, error) {
		return page(func(p Page) (int, string, error) { r, n, err := s.ListOffers(bg, f, p); return len(r), n, err })
	}
	listings := []struct {
		name string
		list func(token string) (string, error)
	}{
		{"requests", hrs(HelpRequestFilter{})},
		{"requests of org-a", hrs(HelpRequestFilter{Organisation: "org-a"})},
		{"offered requests of org-a", hrs(HelpRequestFilter{Organisation: "org-a", State: pb.HelpRequest_STATE_OFFERED})},
		{"open requests", hrs(HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN})},
		{"requests in AB10", hrs(HelpRequestFilter{PostcodePrefix: "AB10"})},
		{"volunteers", vols(VolunteerFilter{})},
		{"volunteers of org-b", vols(VolunteerFilter{Organisation: "org-b"})},
		{"offers", offers(OfferFilter{})},
		{"offers of a volunteer", offers(OfferFilter{VolunteerID: idOf(a.Name)})},
		{"pending offers of a volunteer", offers(OfferFilter{VolunteerID: idOf(a.Name), State: pb.Offer_STATE_PENDING})},
		{"open requests to match", page(func(p Page) (int, string, error) { r, n, err := s.ListOpenMatchingInputs(bg, p); return len(r), n, err })},
	}
	tokens := make([]string, len(listings))
	for i, l := range listings {
		next, err := l.list("")
		if err != nil || next == "" {
			t.Fatalf("%s: first page: token %q, %v", l.name, next, err)
		}
		tokens[i] = next
	}
	for i, from := range listings {
		for j, to := range listings {
			_, err := to.list(tokens[i])
			switch {
			case i == j && err != nil:
				t.Errorf("%s's token refused by its own listing: %v", from.name, err)
			case i != j && !errors.Is(err, ErrBadPageToken):
				t.Errorf("%s's token taken by %s (%v)", from.name, to.name, err)
			}
		}
	}
}

// The nonce binds the filter key and the suffix apart: the same bytes
// split another way between them seal under another nonce, and a sealed
// empty suffix opens as an empty suffix, not as none (which would start
// the walk again).
func TestPageTokenNonceKeepsFilterAndSuffixApart(t *testing.T) {
	s, _ := newStore(t)
	nonce := func(token string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(token)
		mustOK(t, err, "base64")
		return b[1 : 1+s.pages.aead.NonceSize()]
	}
	if bytes.Equal(nonce(s.encodeToken("hr|ab", []byte("c"))), nonce(s.encodeToken("hr|a", []byte("bc")))) {
		t.Error("filter key hr|ab with suffix c, and hr|a with bc, seal under one nonce")
	}
	for _, suffix := range [][]byte{nil, {}} {
		got, err := s.decodeToken(s.encodeToken("hr|a", suffix), "hr|a")
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("suffix %#v sealed: opens as %#v (%v), want an empty suffix", suffix, got, err)
		}
	}
}
