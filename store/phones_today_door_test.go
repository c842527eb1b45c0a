package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestUpgradeKeepsOneCallersTwoVolunteersAtOneDoor: an Irish daughter's
// two requests for her mother, one morning at one door, were stored
// by an older version as two callers': the first from "+353 087 ..."
// (+3530871234567), the second from "+353 (0)87 ..." (+353871234567),
// and Ann and Bob were assigned one each. The upgrade makes them one
// caller's, a pair an edit could not make (the same-door hold): it keeps
// both, as they are, and an edit of the first's details is not refused
// for a door nobody moved.
func TestUpgradeKeepsOneCallersTwoVolunteersAtOneDoor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v13.db")
	clock := newFakeClock()
	s := openAt(t, path, WithClock(clock.now))
	first, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+441224999999"), Idempotency{})
	mustOK(t, err, "create first")
	second, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", todayForm), Idempotency{})
	mustOK(t, err, "create second")
	ann, bob := lcVolunteer(t, s, 2), lcVolunteer(t, s, 2)
	lcMust(t, "accept Ann")(s.AcceptOffer(bg, idOf(lcOffer(t, s, first, ann).Offer.Name)))
	lcMust(t, "accept Bob")(s.AcceptOffer(bg, idOf(lcOffer(t, s, second, bob).Offer.Name)))
	// As an older version stored the first: its number in the older
	// form, indexed under that form as it was.
	mustOK(t, s.c.do(bg, func(w *writeTx) error {
		sl := s.sealer(w.tx)
		top := w.tx.Bucket(bHelpRequests)
		id, err := ParseID(idOf(first.Name))
		if err != nil {
			return err
		}
		r, c, err := helpRequests.read(sl, top, id)
		if err != nil {
			return err
		}
		if err := deleteAll(w, top, helpRequests.phoneIndex(sl, c.GetPhone(), id)); err != nil {
			return err
		}
		c.Phone = olderForm
		return helpRequests.write(w, sl.stored(), top, id, r, c)
	}), "store the older form")
	mustOK(t, s.Close(), "close")
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(kSchemaVersion, u64(13))
	})

	s = openAt(t, path, WithClock(clock.now))
	for _, c := range []struct{ name, vol string }{{first.Name, ann.Name}, {second.Name, bob.Name}} {
		got, err := s.GetHelpRequest(bg, idOf(c.name))
		mustOK(t, err, "get")
		if got.GetRequester().GetPhone() != todayForm || got.AssignedVolunteer != c.vol {
			t.Errorf("%s after the upgrade: %s, assigned %s; want %s, %s", c.name, got.GetRequester().GetPhone(), got.AssignedVolunteer, todayForm, c.vol)
		}
	}
	verifyAll(t, s)
	got, err := s.GetHelpRequest(bg, idOf(first.Name))
	mustOK(t, err, "get first")
	got.Details = "Door code 1234"
	if _, err := s.UpdateHelpRequest(bg, got); err != nil {
		t.Errorf("an edit of the details only: %v", err)
	}
}
