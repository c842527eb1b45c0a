package store

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// keyEpochsIn counts the epochs the data keys are wrapped under, as a
// transaction sees them.
func keyEpochsIn(tx *bolt.Tx) int {
	seen := map[uint32]bool{}
	_ = tx.Bucket(bKeys).ForEach(func(_, v []byte) error {
		seen[binary.BigEndian.Uint32(v)] = true
		return nil
	})
	return len(seen)
}

// An erasure ends with a rotation of the keys of every record, and after
// a deletion the hourly purge runs one. At a million volunteers and
// 200,000 requests its one transaction held every other write up for
// 14 s: a volunteer's edit, a new request, an offer accepted. Writes now
// get in between its chunks, and what they write is found by phone
// meanwhile and after.
func TestWritesGoOnDuringKeyRotation(t *testing.T) {
	withRotateChunk(t, 10)
	s, _ := newStore(t)
	const n = 300
	createMany(t, n, 16, func(i int) error {
		_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", fmt.Sprintf("+4477009%05d", i)), Idempotency{})
		return err
	})
	_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", "+447700800001"), Idempotency{})
	mustOK(t, err, "create request")

	done := make(chan error, 1)
	go func() { done <- s.rotateKeys() }()
	midway, made := 0, 0
	for rotating := true; rotating; {
		select {
		case err := <-done:
			mustOK(t, err, "rotate")
			rotating = false
		default:
		}
		// A write's own transaction: did it come while some keys were
		// re-wrapped and others not yet?
		var mixed bool
		mustOK(t, s.c.do(bg, func(w *writeTx) error {
			mixed = keyEpochsIn(w.tx) > 1
			return nil
		}), "write")
		if mixed {
			midway++
		}
		phone := fmt.Sprintf("+4477008%05d", made)
		_, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create volunteer during the rotation")
		made++
		if got := listAllVol(t, s, VolunteerFilter{Phone: phone}, 10); len(got) != 1 {
			t.Errorf("volunteer made during the rotation, by phone: %d found", len(got))
		}
		if got := listAllVol(t, s, VolunteerFilter{Phone: "+447700900007"}, 10); len(got) != 1 {
			t.Errorf("volunteer made before the rotation, by phone during it: %d found", len(got))
		}
		if got := listAllHR(t, s, HelpRequestFilter{Phone: "+447700800001"}, 10); len(got) != 1 {
			t.Errorf("request by phone during the rotation: %d found", len(got))
		}
	}
	if midway == 0 {
		t.Errorf("none of %d writes came while the rotation was part-way: each waited for all of it", made)
	}
	for i := range made {
		if got := listAllVol(t, s, VolunteerFilter{Phone: fmt.Sprintf("+4477008%05d", i)}, 10); len(got) != 1 {
			t.Errorf("volunteer %d made during the rotation, by phone after it: %d found", i, len(got))
		}
	}
	if r := s.ring.Load(); len(r.epochs) != 1 || r.epochs[keyEpoch(t, s)] == nil {
		t.Errorf("after the rotation the keyring holds %d epochs", len(r.epochs))
	}
	verifyAll(t, s)
	t.Logf("%d writes, %d of them part-way through the rotation", made, midway)
}

// beginCutShort leaves s as a crash would part-way through a rotation:
// the new epoch in the key file, and one chunk of keys re-wrapped under it.
func beginCutShort(t *testing.T, s *BoltStore) uint32 {
	t.Helper()
	ek, err := newEpochKeys()
	mustOK(t, err, "epoch")
	ring := s.ring.Load()
	epoch := ring.latest() + 1
	next := ring.with(epoch, ek)
	mustOK(t, writeKeyFile(s.keyPath, next), "write key file")
	s.ring.Store(next)
	mustOK(t, s.c.do(bg, func(w *writeTx) error {
		if err := beginRotation(w, epoch); err != nil {
			return err
		}
		_, done, err := rekeyChunk(w, next, epoch, nil)
		if done {
			t.Error("the first chunk re-wrapped every key")
		}
		return err
	}), "first chunk")
	return epoch
}

// A rotation a crash cut short is taken up by Open under the same epoch,
// and leaves every record readable and found by phone.
func TestOpenFinishesRotationCutShort(t *testing.T) {
	withRotateChunk(t, 10)
	s, path := newStore(t)
	phonedRequests(t, s, 40)
	mustOK(t, s.c.do(bg, markRotationDue), "mark due")
	epoch := beginCutShort(t, s)
	mustOK(t, s.Close(), "close")

	s = openAt(t, path)
	if e := keyEpoch(t, s); e != epoch {
		t.Errorf("file epoch %d after Open, want %d, the rotation's", e, epoch)
	}
	if r := readRing(t, path+".keys"); len(r.epochs) != 1 || r.epochs[epoch] == nil {
		t.Errorf("key file after Open holds %d epochs", len(r.epochs))
	}
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta.Get(kRotationDue) != nil || meta.Get(kKeyRotating) != nil {
			t.Error("rotation still due or under way after Open")
		}
		if tx.Bucket(bHelpRequests).Bucket(bRotation) != nil {
			t.Error("the rotation's phone index left behind")
		}
		return nil
	}), "view")
	for i := range 40 {
		if got := listAllHR(t, s, HelpRequestFilter{Phone: fmt.Sprintf("+4477009%05d", i)}, 10); len(got) != 1 {
			t.Errorf("request %d by phone: %d found", i, len(got))
		}
	}
	verifyAll(t, s)
}

// An erasure of a record whose key a rotation cut short had re-wrapped:
// the copy under that rotation's epoch lingers in a free page, so
// finishing that rotation is not enough; a new one follows.
func TestErasureAfterRotationCutShort(t *testing.T) {
	withRotateChunk(t, 10)
	s, path := newStore(t)
	phonedRequests(t, s, 40)
	epoch := beginCutShort(t, s)
	// The first request made is among the first chunk's.
	res, err := s.ErasePerson(bg, "+447700900000", time.Now())
	mustOK(t, err, "erase")
	if len(res.HelpRequests) != 1 {
		t.Fatalf("erased %d requests", len(res.HelpRequests))
	}
	if r := readRing(t, path+".keys"); r.epochs[epoch] != nil {
		t.Errorf("epoch %d, which the erased key was re-wrapped under, is still in the key file", epoch)
	}
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bMeta).Get(kRotationDue) != nil {
			t.Error("rotation still due")
		}
		return nil
	}), "view")
	verifyAll(t, s)
}

// withRotateChunk makes key rotations re-wrap n keys a transaction, for
// the test.
func withRotateChunk(t *testing.T, n int) {
	old := rotateChunk
	rotateChunk = n
	t.Cleanup(func() { rotateChunk = old })
}

// phonedRequests stores n requests, the i-th with the phone
// +4477009 and i in five digits.
func phonedRequests(t *testing.T, s *BoltStore, n int) {
	t.Helper()
	for i := range n {
		_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4477009%05d", i)), Idempotency{})
		mustOK(t, err, "create")
	}
}
