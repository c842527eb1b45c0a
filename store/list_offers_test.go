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

// listAllOffers pages through ListOffers with pages of size, checking
// that only the last page has no token.
func listAllOffers(t *testing.T, s *BoltStore, f OfferFilter, size int) []string {
	t.Helper()
	var names []string
	token := ""
	for range 100 {
		page, next, err := s.ListOffers(bg, f, Page{Size: size, Token: token})
		mustOK(t, err, "list offers")
		if len(page) > size {
			t.Fatalf("page of %d offers, size %d", len(page), size)
		}
		for _, o := range page {
			names = append(names, o.Name)
		}
		if next == "" {
			return names
		}
		token = next
	}
	t.Fatalf("%+v: more than 100 pages", f)
	return nil
}

func TestListOffers(t *testing.T) {
	s, _ := newStore(t)
	a, b := lcVolunteer(t, s, 5), lcVolunteer(t, s, 5)
	r1, r2, r3, r4, r5 := lcRequest(t, s), lcRequest(t, s), lcRequest(t, s), lcRequest(t, s), lcRequest(t, s)
	aR1 := lcOffer(t, s, r1, a).Offer.Name
	aR2 := lcOffer(t, s, r2, a).Offer.Name
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(aR2)))
	bR2 := lcOffer(t, s, r2, b).Offer.Name
	aR3 := lcOffer(t, s, r3, a).Offer.Name
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(aR3)))
	// A shorter lease: first by lease end, though made last but one.
	bR4 := lcMust(t, "offer")(s.CreateOffer(bg, OfferParams{HelpRequestID: idOf(r4.Name), VolunteerID: idOf(b.Name), Lease: 10 * time.Minute})).Offer.Name
	aR5 := lcOffer(t, s, r5, a).Offer.Name
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(aR5)))
	// An assignment that has ended: its offer stays ACCEPTED but binds
	// nobody any more.
	r6 := lcRequest(t, s)
	bR6 := lcOffer(t, s, r6, b).Offer.Name
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(bR6)))
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(r6.Name)))

	unknown := idString(make([]byte, 16))
	tests := []struct {
		name string
		f    OfferFilter
		want []string
	}{
		{"everything, oldest first", OfferFilter{}, []string{aR1, aR2, bR2, aR3, bR4, aR5, bR6}},
		{"a volunteer's", OfferFilter{VolunteerID: idOf(a.Name)}, []string{aR1, aR2, aR3, aR5}},
		{"a volunteer's pending", OfferFilter{VolunteerID: idOf(a.Name), State: pb.Offer_STATE_PENDING}, []string{aR1}},
		{"a volunteer's declined", OfferFilter{VolunteerID: idOf(a.Name), State: pb.Offer_STATE_DECLINED}, []string{aR2, aR5}},
		{"another volunteer's", OfferFilter{VolunteerID: idOf(b.Name)}, []string{bR2, bR4, bR6}},
		{"a volunteer's in force", OfferFilter{VolunteerID: idOf(a.Name), Live: true}, []string{aR1, aR3}},
		{"another volunteer's in force", OfferFilter{VolunteerID: idOf(b.Name), Live: true}, []string{bR2, bR4}},
		{"accepted and in force", OfferFilter{State: pb.Offer_STATE_ACCEPTED, Live: true}, []string{aR3}},
		{"declined and in force", OfferFilter{State: pb.Offer_STATE_DECLINED, Live: true}, nil},
		{"everything in force", OfferFilter{Live: true}, []string{aR1, bR2, aR3, bR4}},
		{"a request's", OfferFilter{RequestID: idOf(r2.Name)}, []string{aR2, bR2}},
		{"a request's to one volunteer", OfferFilter{RequestID: idOf(r2.Name), VolunteerID: idOf(b.Name)}, []string{bR2}},
		{"a request's to someone else", OfferFilter{RequestID: idOf(r4.Name), VolunteerID: idOf(a.Name)}, nil},
		{"pending, soonest lease end first", OfferFilter{State: pb.Offer_STATE_PENDING}, []string{bR4, aR1, bR2}},
		{"accepted", OfferFilter{State: pb.Offer_STATE_ACCEPTED}, []string{aR3, bR6}},
		{"a volunteer with none", OfferFilter{VolunteerID: unknown}, nil},
		{"a request with none", OfferFilter{RequestID: unknown}, nil},
		{"not an id", OfferFilter{VolunteerID: "volunteer-1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 2, 1000} {
				if got := listAllOffers(t, s, tt.f, size); !slices.Equal(got, tt.want) {
					t.Errorf("pages of %d: %v, want %v", size, got, tt.want)
				}
			}
		})
	}

	t.Run("page tokens", func(t *testing.T) {
		f := OfferFilter{VolunteerID: idOf(a.Name)}
		_, next, err := s.ListOffers(bg, f, Page{Size: 1})
		mustOK(t, err, "first page")
		_, _, err = s.ListOffers(bg, OfferFilter{VolunteerID: idOf(b.Name)}, Page{Size: 1, Token: next})
		mustErr(t, err, ErrBadPageToken, "a token under another filter")
		_, _, err = s.ListOffers(bg, f, Page{Size: 1, Token: "not a token"})
		mustErr(t, err, ErrBadPageToken, "a made-up token")
		if _, _, err = s.ListOffers(bg, f, Page{}); err == nil || errors.Is(err, ErrBadPageToken) {
			t.Errorf("page size 0: %v", err)
		}
	})

	t.Run("a deleted request's offers go", func(t *testing.T) {
		mustOK(t, s.DeleteHelpRequest(bg, idOf(r5.Name), ""), "delete request")
		if got := listAllOffers(t, s, OfferFilter{VolunteerID: idOf(a.Name)}, 10); !slices.Equal(got, []string{aR1, aR2, aR3}) {
			t.Errorf("a's offers after r5's delete: %v", got)
		}
		mustOK(t, s.view(func(tx *bolt.Tx) error { verifyOffers(t, tx); return nil }), "verify")
	})
}

// offerInTurn makes n requests and offers them to a and b in turn,
// returning the names of a's offers.
func offerInTurn(t *testing.T, s *BoltStore, n int, a, b *pb.Volunteer) []string {
	t.Helper()
	var toA []string
	for i := range n {
		if i%2 == 1 {
			lcOffer(t, s, lcRequest(t, s), b)
			continue
		}
		toA = append(toA, lcOffer(t, s, lcRequest(t, s), a).Offer.Name)
	}
	return toA
}

// TestMigrationIndexesOffersByVolunteer opens a schema-4 file, which has
// offers but no offers/by_volunteer, and finds every offer indexed.
func TestMigrationIndexesOffersByVolunteer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	// Before the requests' time ends: an offer after it is refused.
	clock := newFakeClock()
	s := openAt(t, path, WithClock(clock.now))
	a, b := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	wantA := offerInTurn(t, s, 5, a, b)
	mustOK(t, s.Close(), "close")
	rewindSchema(t, path, 4, bOffers, bByVolunteer)
	s = openAt(t, path, WithClock(clock.now))
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		checkLayout(t, tx)
		verifyOffers(t, tx)
		return nil
	}), "view")
	if got := listAllOffers(t, s, OfferFilter{VolunteerID: idOf(a.Name)}, 2); !slices.Equal(got, wantA) {
		t.Errorf("a's offers after migration: %v, want %v", got, wantA)
	}
}

// TestExportFindsAVolunteersOffersByIndex: the export of a volunteer holds
// exactly their offers, found through offers/by_volunteer.
func TestExportFindsAVolunteersOffersByIndex(t *testing.T) {
	s, _ := newStore(t)
	a, b := lcVolunteer(t, s, 3), lcVolunteer(t, s, 3)
	want := offerInTurn(t, s, 4, a, b)
	exp, err := s.ExportPerson(bg, a.Contact.Phone)
	mustOK(t, err, "export")
	var got []string
	for _, o := range exp.Offers {
		got = append(got, o.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("exported offers %v, want %v", got, want)
	}
}
