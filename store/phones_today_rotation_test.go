package store

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

// keyAsOlder rekeys the phone index entries of col's records as versions
// before schema 14 made them, under the number as stored: those in use,
// and those a key rotation under way had staged (bRotation), for the
// records its chunks had reached.
func keyAsOlder[T proto.Message](w *writeTx, sl *sealer, col *collection[T]) error {
	top := w.tx.Bucket(col.bucket)
	var del, put []index
	err := top.Bucket(bContacts).ForEach(func(id, sealed []byte) error {
		p, err := openPersonal(sl, col, id, sealed)
		if err != nil {
			return err
		}
		number := col.takeContact(p).GetPhone()
		today, older := col.phoneIndex(sl, number, id), col.phoneIndex(sl.stored(), number, id)
		for i, e := range today {
			if b := e.of(top); b != nil && b.Get(e.key) != nil {
				del, put = append(del, e), append(put, older[i])
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := deleteAll(w, top, del); err != nil {
		return err
	}
	return putInOrder(top, put)
}

// A file at schema 13 holds a phone index keyed by the numbers as
// stored, the older form's included, and may be part-way through a key
// rotation whose staged index (bRotation) is keyed so too: the upgrade
// takes off every entry under the older form, those the rotation staged
// included, so that once the rotation ends (Open finishes it) nobody is
// two people, and no entry is left under a number nobody has.
func TestUpgradeRekeysOlderIndexDuringRotation(t *testing.T) {
	for _, rotating := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotating=%v", rotating), func(t *testing.T) {
			withRotateChunk(t, 4)
			s, path := newStore(t)
			const n = 12
			older := func(i int) string { return fmt.Sprintf("+3530871234%03d", i) }
			today := func(i int) string { return fmt.Sprintf("+353871234%03d", i) }
			reqs, vols := map[string]string{}, map[string]string{}
			for i := range n {
				number := today(i)
				if i%2 == 0 {
					number = older(i)
				}
				hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", number), Idempotency{})
				mustOK(t, err, "create request")
				reqs[today(i)] = hr.Name
				if i%3 == 0 {
					v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", number), Idempotency{})
					mustOK(t, err, "create volunteer")
					vols[today(i)] = v.Name
				}
			}
			if rotating {
				beginCutShort(t, s)
			}
			mustOK(t, s.c.do(bg, func(w *writeTx) error {
				sl := s.sealer(w.tx)
				if rotating && sl.next == nil {
					t.Error("no rotation under way")
				}
				if err := keyAsOlder(w, sl, helpRequests); err != nil {
					return err
				}
				return keyAsOlder(w, sl, volunteers)
			}), "key the index as older versions did")
			mustOK(t, s.Close(), "close")
			writeBoltFile(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bMeta).Put(kSchemaVersion, u64(13))
			})

			s = openAt(t, path)
			verifyAll(t, s)
			for i := range n {
				for _, form := range []string{older(i), today(i)} {
					hrs := listAllHR(t, s, HelpRequestFilter{Phone: form}, 10)
					if got := names(hrs); !slices.Equal(got, []string{reqs[today(i)]}) {
						t.Errorf("requests on %s: %v, want %s", form, got, reqs[today(i)])
					}
					vs := listAllVol(t, s, VolunteerFilter{Phone: form}, 10)
					if want := vols[today(i)]; (want == "") != (len(vs) == 0) || len(vs) > 1 || len(vs) == 1 && vs[0].Name != want {
						t.Errorf("volunteers on %s: %d, want %q", form, len(vs), want)
					}
				}
			}
			mustOK(t, s.db.View(func(tx *bolt.Tx) error {
				sl := s.sealer(tx)
				for _, col := range [][]byte{bHelpRequests, bVolunteers} {
					err := tx.Bucket(col).Bucket(bByPhone).ForEach(func(k, _ []byte) error {
						for i := 0; i < n; i += 2 {
							if bytes.HasPrefix(k, phoneToken(sl.cur, older(i))) {
								t.Errorf("%s: by_phone still has an entry under %s", col, older(i))
							}
						}
						return nil
					})
					if err != nil {
						return err
					}
				}
				return nil
			}), "view")
		})
	}
}
