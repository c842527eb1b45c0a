package store

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// rotationChunk runs one more chunk of the rotation to epoch begun by
// beginCutShort, as rotateOnce does, and says whether it was the last.
func rotationChunk(t *testing.T, s *BoltStore, epoch uint32, from []byte) ([]byte, bool) {
	t.Helper()
	var last []byte
	var done bool
	mustOK(t, s.c.do(bg, func(w *writeTx) (err error) {
		last, done, err = rekeyChunk(w, s.ring.Load(), epoch, from)
		return err
	}), "chunk")
	return last, done
}

// Every kind of write comes between a rotation's chunks, to records whose
// keys it has re-wrapped and to records it has not reached, and then the
// process stops (a crash, as far as the file can tell). Open finishes the
// rotation: every record left is readable and found by phone, nothing
// erased or deleted is found by phone, and no copy in the file of an
// erased or deleted record's data key opens under the key file.
func TestEveryWriteBetweenRotationChunks(t *testing.T) {
	withRotateChunk(t, 4)
	s, path := newStore(t)
	const n = 24
	var vols []*pb.Volunteer
	var reqs []*pb.HelpRequest
	for i := range n {
		v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", fmt.Sprintf("+4477009%05d", i)), Idempotency{})
		mustOK(t, err, "create volunteer")
		vols = append(vols, v)
	}
	for i := range n {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477008%05d", i)), Idempotency{})
		mustOK(t, err, "create request")
		reqs = append(reqs, hr)
	}
	mustOK(t, s.c.do(bg, markRotationDue), "mark due")
	epoch := beginCutShort(t, s) // volunteers 0-3 re-wrapped

	type gone struct{ id, dk []byte }
	var removed []gone
	remember := func(name string) {
		removed = append(removed, gone{mustKey(t, idOf(name)), dataKeyOf(t, s, idOf(name))})
	}
	phones := map[string]string{} // volunteer name -> phone now
	for i, v := range vols {
		phones[v.Name] = fmt.Sprintf("+4477009%05d", i)
	}
	newPhone := func(i int, v *pb.Volunteer) {
		v.Contact.Phone = fmt.Sprintf("+4477007%05d", i)
		got, err := s.UpdateVolunteer(bg, v)
		mustOK(t, err, "update volunteer")
		vols[i] = got
		phones[v.Name] = v.Contact.Phone
	}
	// Re-wrapped already (0-3) and not yet (20-23).
	newPhone(0, vols[0])
	newPhone(20, vols[20])
	remember(vols[1].Name)
	mustOK(t, s.DeleteVolunteer(bg, idOf(vols[1].Name), ""), "delete re-wrapped")
	delete(phones, vols[1].Name)
	remember(vols[21].Name)
	mustOK(t, s.DeleteVolunteer(bg, idOf(vols[21].Name), ""), "delete not re-wrapped")
	delete(phones, vols[21].Name)
	_, err := s.CreateToken(bg, &pb.Token{Volunteer: vols[22].Name, Role: pb.Role_ROLE_VOLUNTEER, DisplayName: "Callum"}, sha256.Sum256([]byte("t1")), false)
	mustOK(t, err, "token")

	last, done := rotationChunk(t, s, epoch, mustKey(t, idOf(vols[3].Name)))
	if done {
		t.Fatal("second chunk re-wrapped every key")
	}
	// An erasure, its own rotation not begun yet: of a volunteer re-wrapped
	// (2) and of requests not yet (by phone of request 5).
	erasePhone := func(phone string, names ...string) {
		for _, name := range names {
			remember(name)
		}
		mustOK(t, s.c.do(bg, func(w *writeTx) error {
			_, err := erase(w, s.sealer(w.tx), phone, time.Now())
			return err
		}), "erase")
	}
	erasePhone(phones[vols[2].Name], vols[2].Name)
	delete(phones, vols[2].Name)
	erasePhone("+447700800005", reqs[5].Name)
	// Made now, under the new epoch.
	nv, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+447700600001"), Idempotency{})
	mustOK(t, err, "create volunteer midway")
	phones[nv.Name] = "+447700600001"
	nr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+447700600001"), Idempotency{})
	mustOK(t, err, "create request midway")
	newPhone(0, vols[0]) // twice, now under the new epoch's chunk done
	reqs[7].Requester.Phone = "+447700600007"
	reqs[7], err = s.UpdateHelpRequest(bg, reqs[7])
	mustOK(t, err, "update request's phone")
	_, _ = rotationChunk(t, s, epoch, last)
	verifyAll(t, s)
	mustOK(t, s.Close(), "close")

	s = openAt(t, path)
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta.Get(kRotationDue) != nil || meta.Get(kKeyRotating) != nil {
			t.Error("rotation still due or under way after Open")
		}
		return nil
	}), "view")
	verifyAll(t, s)
	for name, phone := range phones {
		got := listAllVol(t, s, VolunteerFilter{Phone: phone}, 10)
		if len(got) != 1 || got[0].Name != name {
			t.Errorf("volunteer %s by phone: %d found", name, len(got))
		}
	}
	for i, hr := range reqs {
		want := 1
		if i == 5 || i == 7 {
			want = 0
		}
		if got := listAllHR(t, s, HelpRequestFilter{Phone: fmt.Sprintf("+4477008%05d", i)}, 10); len(got) != want {
			t.Errorf("request %s by phone: %d found", hr.Name, len(got))
		}
	}
	if got := listAllHR(t, s, HelpRequestFilter{Phone: "+447700600001"}, 10); len(got) != 1 || got[0].Name != nr.Name {
		t.Errorf("request made midway by phone: %d found", len(got))
	}
	// The request's phone hash finds the volunteer with its number.
	in, err := s.MatchingInput(bg, idOf(nr.Name))
	mustOK(t, err, "matching input")
	if len(in.Own) != 1 || in.Own[0] != nv.Name {
		t.Errorf("request made midway: its requester's own volunteer records %v, want %s", in.Own, nv.Name)
	}
	if got := listAllHR(t, s, HelpRequestFilter{Phone: "+447700600007"}, 10); len(got) != 1 || got[0].Name != reqs[7].Name {
		t.Errorf("request whose phone changed midway, by its new phone: %d found", len(got))
	}
	ring := readRing(t, path+".keys")
	// Keys deleted after their chunk had re-wrapped them (1, 2) left
	// copies under the rotation's epoch: Open rotated once more.
	if ring.epochs[epoch] != nil {
		t.Errorf("epoch %d, under which erased and deleted keys were re-wrapped, is still in the key file", epoch)
	}
	raw := readFile(t, path)
	for _, g := range removed {
		if n := wrappedCopies(raw, ring, g.id, g.dk); n > 0 {
			t.Errorf("%s: %d copies of its data key open under the key file", idString(g.id), n)
		}
	}
}

// A crash after a rotation's last chunk but before the transaction that
// puts its phone indexes in place, with an erasure between: Open ends
// that rotation and, since the erased key was re-wrapped under its epoch,
// rotates once more.
func TestOpenAfterRotationsLastChunk(t *testing.T) {
	withRotateChunk(t, 4)
	s, path := newStore(t)
	var reqs []*pb.HelpRequest
	for i := range 10 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477008%05d", i)), Idempotency{})
		mustOK(t, err, "create request")
		reqs = append(reqs, hr)
	}
	mustOK(t, s.c.do(bg, markRotationDue), "mark due")
	epoch := beginCutShort(t, s)
	from := mustKey(t, idOf(reqs[3].Name))
	for done := false; !done; {
		from, done = rotationChunk(t, s, epoch, from)
	}
	id, dk := mustKey(t, idOf(reqs[2].Name)), dataKeyOf(t, s, idOf(reqs[2].Name))
	mustOK(t, s.c.do(bg, func(w *writeTx) error {
		_, err := erase(w, s.sealer(w.tx), "+447700800002", time.Now())
		return err
	}), "erase")
	mustOK(t, s.Close(), "close")

	s = openAt(t, path)
	ring := readRing(t, path+".keys")
	if len(ring.epochs) != 1 || ring.epochs[epoch] != nil {
		t.Errorf("key file after Open holds epochs %v; want one, not %d", ring.epochs, epoch)
	}
	if n := wrappedCopies(readFile(t, path), ring, id, dk); n > 0 {
		t.Errorf("%d copies of the erased request's data key open under the key file", n)
	}
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta.Get(kRotationDue) != nil || meta.Get(kKeyRotating) != nil {
			t.Error("rotation still due or under way after Open")
		}
		return nil
	}), "view")
	for i, hr := range reqs {
		want := 1
		if i == 2 {
			want = 0
		}
		if got := listAllHR(t, s, HelpRequestFilter{Phone: fmt.Sprintf("+4477008%05d", i)}, 10); len(got) != want {
			t.Errorf("request %s by phone: %d found, want %d", hr.Name, len(got), want)
		}
	}
	verifyAll(t, s)
}
