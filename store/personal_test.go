package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// ---------------------------------------------------------------------------
// Helpers.

// verifyKeys checks that keys/ holds exactly one data key for each record
// with sealed personal data, each wrapped under the file's key epoch.
func verifyKeys(t testing.TB, tx *bolt.Tx) {
	t.Helper()
	raw := tx.Bucket(bMeta).Get(kKeyEpoch)
	if len(raw) != 4 {
		t.Errorf("meta/key_epoch = %x", raw)
		return
	}
	epoch := binary.BigEndian.Uint32(raw)
	// While a rotation is under way, keys are under the epoch it moves to
	// too.
	next := epoch
	if raw := tx.Bucket(bMeta).Get(kKeyRotating); len(raw) >= 4 {
		next = binary.BigEndian.Uint32(raw)
	}
	want := map[string]bool{}
	for _, b := range [][]byte{bHelpRequests, bVolunteers} {
		_ = tx.Bucket(b).Bucket(bContacts).ForEach(func(k, _ []byte) error {
			want[string(k)] = true
			return nil
		})
	}
	got := map[string]bool{}
	_ = tx.Bucket(bKeys).ForEach(func(k, v []byte) error {
		got[string(k)] = true
		if len(v) != wrappedSize {
			t.Errorf("key of %s: %d bytes", idString(k), len(v))
		} else if e := binary.BigEndian.Uint32(v); e != epoch && e != next {
			t.Errorf("key of %s wrapped under epoch %d, the file's is %d", idString(k), e, epoch)
		}
		return nil
	})
	if !maps.Equal(got, want) {
		t.Errorf("keys/ holds %d keys, %d records have sealed data", len(got), len(want))
	}
}

func dataKeyOf(t testing.TB, s *BoltStore, id string) []byte {
	t.Helper()
	var dk []byte
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		dk, err = s.sealer(tx).dataKey(mustKey(t, id))
		return err
	})
	mustOK(t, err, "data key")
	if dk == nil {
		t.Fatalf("%s has no data key", id)
	}
	return dk
}

func keyEpoch(t testing.TB, s *BoltStore) uint32 {
	t.Helper()
	var e uint32
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		e = binary.BigEndian.Uint32(tx.Bucket(bMeta).Get(kKeyEpoch))
		return nil
	}), "view")
	return e
}

func readRing(t testing.TB, path string) *keyring {
	t.Helper()
	r, err := readKeyFile(path)
	mustOK(t, err, "read key file")
	return r
}

// wrappedCopies counts the places in raw where a wrapped form of dataKey
// for record id opens under any epoch of ring. It tries every byte offset
// and every epoch whatever epoch number the candidate names, so it makes
// no assumption about page layout or which epoch wrapped it. The only
// windows skipped are those whose ciphertext and tag are all zero bytes
// (most of a bbolt file is unused zeroed space), which an AES-GCM output
// is with probability 2^-384.
func wrappedCopies(raw []byte, ring *keyring, id, dataKey []byte) int {
	// nextNonZero[i] is the first index at or after i holding a non-zero
	// byte.
	nextNonZero := make([]int, len(raw)+1)
	nextNonZero[len(raw)] = len(raw)
	for i := len(raw) - 1; i >= 0; i-- {
		nextNonZero[i] = nextNonZero[i+1]
		if raw[i] != 0 {
			nextNonZero[i] = i
		}
	}
	n := 0
	for i := 0; i+wrappedSize <= len(raw); i++ {
		if nextNonZero[i+4+nonceSize] >= i+wrappedSize {
			continue
		}
		c := raw[i : i+wrappedSize]
		for _, ek := range ring.epochs {
			dk, err := ek.aead.Open(nil, c[4:4+nonceSize], c[4+nonceSize:], id)
			if err == nil && bytes.Equal(dk, dataKey) {
				n++
			}
		}
	}
	return n
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	mustOK(t, err, "read "+path)
	return b
}

func copyFile(t testing.TB, from, to string) []byte {
	t.Helper()
	b := readFile(t, from)
	mustOK(t, os.WriteFile(to, b, 0o600), "write copy")
	return b
}

// personalRequest is a request whose every personal text holds marker.
func personalRequest(marker, phone string) *pb.HelpRequest {
	hr := newHelpRequest("org-a", "", "AB10 1AB", phone)
	hr.Requester.DisplayName = "Morag " + marker
	hr.Details = "Shopping; the key is under the mat " + marker
	hr.Location.AddressLines = []string{"Flat " + marker, "12 Union Street"}
	hr.Vulnerability = &pb.Vulnerability{LivesAlone: true, Shielding: true}
	return hr
}

func personalVolunteer(marker, phone string) *pb.Volunteer {
	v := newVolunteer("org-a", "AB10 1AF", phone, "driver")
	v.Contact.DisplayName = "Callum " + marker
	v.Home.Street = "Union Street"
	v.Home.AddressLines = []string{"House " + marker}
	return v
}

func hasPersonalData(hr *pb.HelpRequest) bool {
	return hr.GetRequester().GetPhone() != "" || hr.GetRequester().GetDisplayName() != "" || hr.Details != "" ||
		len(hr.GetLocation().GetAddressLines()) > 0 || hr.Vulnerability != nil
}

// ---------------------------------------------------------------------------
// Encryption at rest and erasure.

// The erasure canary: personal data is never in either file in the clear,
// and after erasure the erased records' data keys cannot be recovered from
// the data file with any key the key file still holds, although bbolt
// keeps stale page copies of the wrapped keys in its free pages.
func TestErasureCanary(t *testing.T) {
	const canary = "CANARY-q7Zx41"
	const phone = "+447700900777"
	const otherPhone = "+447700900888"
	clock := newFakeClock()
	s, path := newStore(t, WithClock(clock.now))
	keyPath := path + ".keys"

	hr, err := s.CreateHelpRequest(bg, personalRequest(canary, phone), Idempotency{})
	mustOK(t, err, "create request")
	// Updated once, so that more stale copies are left behind.
	hr.Details += " (updated)"
	hr, err = s.UpdateHelpRequest(bg, hr)
	mustOK(t, err, "update request")
	v, err := s.CreateVolunteer(bg, personalVolunteer(canary, phone), Idempotency{})
	mustOK(t, err, "create volunteer")
	other, err := s.CreateHelpRequest(bg, personalRequest("someone-else", otherPhone), Idempotency{})
	mustOK(t, err, "create other request")

	// The API returns everything.
	got, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get")
	if !proto.Equal(got, hr) || got.Requester.DisplayName != "Morag "+canary || len(got.Location.AddressLines) != 2 || !got.Vulnerability.LivesAlone {
		t.Fatalf("get = %v\nwant %v", got, hr)
	}
	gv, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if !proto.Equal(gv, v) || gv.Home.AddressLines[0] != "House "+canary {
		t.Fatalf("get volunteer = %v\nwant %v", gv, v)
	}
	if got := names(listAllHR(t, s, HelpRequestFilter{Phone: phone}, 10)); !slices.Equal(got, []string{hr.Name}) {
		t.Fatalf("list by phone = %v", got)
	}
	verifyAll(t, s)

	// Encryption at rest: neither file holds the canary or the phone
	// number, and the key file holds nothing but keys.
	for _, p := range []string{path, keyPath} {
		raw := readFile(t, p)
		for _, secret := range []string{canary, phone, "Morag", "Union Street\x00"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s holds %q in the clear", filepath.Base(p), secret)
			}
		}
	}
	// The street stays in the clear, so the check above can see text.
	if !bytes.Contains(readFile(t, path), []byte("Union Street")) {
		t.Fatal("the data file holds no street name: the scan is not reading it")
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", fi, err)
	}

	hrKey, vKey := mustKey(t, idOf(hr.Name)), mustKey(t, idOf(v.Name))
	hrDK, vDK := dataKeyOf(t, s, idOf(hr.Name)), dataKeyOf(t, s, idOf(v.Name))
	otherDK := dataKeyOf(t, s, idOf(other.Name))
	oldRing := readRing(t, keyPath)
	// The scanner finds live wrapped keys: without this, its silence after
	// the erasure would prove nothing.
	before := readFile(t, path)
	if wrappedCopies(before, oldRing, hrKey, hrDK) == 0 || wrappedCopies(before, oldRing, vKey, vDK) == 0 {
		t.Fatal("the scan does not find the live wrapped data keys")
	}
	if bytes.Contains(before, hrDK) || bytes.Contains(before, vDK) {
		t.Fatal("a data key is in the data file in the clear")
	}
	oldToken := phoneToken(oldRing.epochs[keyEpoch(t, s)], phone)
	if !bytes.Contains(before, oldToken) {
		t.Fatal("the scan does not find the live phone index entry")
	}

	// A reader left open across the erasure keeps bbolt from reusing the
	// pages the erasure frees, so the stale copies of the wrapped keys
	// certainly stay in the file, as they may in any file.
	pin, err := s.db.Begin(false)
	mustOK(t, err, "begin reader")
	res, err := s.ErasePerson(bg, phone, clock.now())
	mustOK(t, err, "erase")
	mustOK(t, pin.Rollback(), "end reader")
	if len(res.HelpRequests) != 1 || res.HelpRequests[0].Name != hr.Name || !slices.Equal(res.Volunteers, []string{v.Name}) {
		t.Fatalf("erasure result %v", res)
	}

	// The store no longer returns them.
	got, err = s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get after erasure")
	if got.PersonalDataRemovedTime == nil || hasPersonalData(got) || proto.Size(got.Requester) != 0 {
		t.Errorf("erased request = %v", got)
	}
	if got.State != pb.HelpRequest_STATE_CANCELLED || got.Location.Postcode != "AB10 1AB" || len(got.Needs) != 2 {
		t.Errorf("erased request lost more than its personal data, or stayed open: %v", got)
	}
	if !proto.Equal(got, res.HelpRequests[0]) {
		t.Errorf("erasure result %v\nstored %v", res.HelpRequests[0], got)
	}
	_, err = s.GetVolunteer(bg, idOf(v.Name))
	mustErr(t, err, ErrNotFound, "get erased volunteer")
	if got := listAllHR(t, s, HelpRequestFilter{Phone: phone}, 10); len(got) != 0 {
		t.Errorf("list by erased phone = %v", names(got))
	}
	exp, err := s.ExportPerson(bg, phone)
	mustOK(t, err, "export after erasure")
	if len(exp.HelpRequests)+len(exp.Volunteers)+len(exp.Offers) != 0 {
		t.Errorf("export after erasure: %v", exp)
	}
	// Someone else is untouched.
	if g, err := s.GetHelpRequest(bg, idOf(other.Name)); err != nil || !proto.Equal(g, other) {
		t.Errorf("other request after erasure: %v, %v", g, err)
	}
	verifyAll(t, s)
	mustOK(t, s.Close(), "close")

	// The strong check, on a copy of the closed file. The erased data
	// keys were only ever written wrapped under the old epoch; the
	// rotation destroyed it, so the key file must now hold no key that
	// opens any 64-byte window of the file to either erased data key, and
	// neither key may appear in the clear. The other person's key must
	// still open, or the scan would prove nothing.
	raw := copyFile(t, path, filepath.Join(t.TempDir(), "copy.db"))
	ring := readRing(t, keyPath)
	for e := range oldRing.epochs {
		if _, ok := ring.epochs[e]; ok {
			t.Errorf("key file still holds epoch %d", e)
		}
	}
	if len(ring.epochs) != 1 {
		t.Errorf("key file holds %d epochs after the rotation", len(ring.epochs))
	}
	for _, k := range []struct {
		name    string
		id, key []byte
	}{{"request", hrKey, hrDK}, {"volunteer", vKey, vDK}} {
		if bytes.Contains(raw, k.key) {
			t.Errorf("erased %s's data key is in the file in the clear", k.name)
		}
		if n := wrappedCopies(raw, ring, k.id, k.key); n != 0 {
			t.Errorf("erased %s's data key opens from %d places with the current keys", k.name, n)
		}
		// What the rotation protects against: the file does still hold
		// the erased key, wrapped under the destroyed epoch.
		if n := wrappedCopies(raw, oldRing, k.id, k.key); n == 0 {
			t.Errorf("no stale copy of the erased %s's wrapped key: the test no longer shows what rotation is for", k.name)
		}
	}
	if wrappedCopies(raw, ring, mustKey(t, idOf(other.Name)), otherDK) == 0 {
		t.Error("the remaining request's data key does not open with the current keys")
	}
	// The erased phone's index entry cannot be confirmed by hashing a
	// guessed number with any index key left.
	for e, ek := range ring.epochs {
		if bytes.Contains(raw, phoneToken(ek, phone)) {
			t.Errorf("the erased phone's index entry under epoch %d is in the file", e)
		}
	}
	for _, secret := range []string{canary, phone, "Morag"} {
		if bytes.Contains(raw, []byte(secret)) || bytes.Contains(readFile(t, keyPath), []byte(secret)) {
			t.Errorf("%q in the clear after erasure", secret)
		}
	}

	// Reopened, the store reads what is left.
	s2 := openAt(t, path, WithClock(clock.now))
	if g, err := s2.GetHelpRequest(bg, idOf(other.Name)); err != nil || !proto.Equal(g, other) {
		t.Errorf("other request after reopen: %v, %v", g, err)
	}
	verifyAll(t, s2)
}

// Erasure with a live offer or assignment changes nothing at all, not
// even the key file.
func TestEraseRefusesCommitments(t *testing.T) {
	s, path := newStore(t)
	const phone = "+447700900500"
	open := personalRequest("x", phone)
	_, err := s.CreateHelpRequest(bg, open, Idempotency{})
	mustOK(t, err, "create")
	offered, err := s.CreateHelpRequest(bg, personalRequest("y", phone), Idempotency{})
	mustOK(t, err, "create")
	helper := lcVolunteer(t, s, 3)
	off := lcOffer(t, s, offered, helper)

	// A volunteer with the phone holding an assignment, and one holding a
	// pending offer.
	const volPhone = "+447700900501"
	busy, err := s.CreateVolunteer(bg, personalVolunteer("v", volPhone), Idempotency{})
	mustOK(t, err, "create volunteer")
	other := lcRequest(t, s)
	acc := lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, other, busy).Offer.Name)))
	const pendingPhone = "+447700900502"
	pending, err := s.CreateVolunteer(bg, personalVolunteer("w", pendingPhone), Idempotency{})
	mustOK(t, err, "create volunteer")
	lcOffer(t, s, lcRequest(t, s), pending)

	for _, p := range []string{phone, volPhone, pendingPhone} {
		before, keysBefore := dump(t, s), readFile(t, path+".keys")
		_, err := s.ErasePerson(bg, p, time.Now())
		mustErr(t, err, ErrHasCommitments, "erase with a commitment")
		if d := diffDump(before, dump(t, s)); len(d) > 0 {
			t.Errorf("refused erasure changed %v", d)
		}
		if !bytes.Equal(keysBefore, readFile(t, path+".keys")) {
			t.Error("refused erasure changed the key file")
		}
	}

	// Once the commitments end, each erasure goes through.
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(off.HelpRequest.Name)))
	rev, _ := s.Revision()
	res, err := s.ErasePerson(bg, phone, time.Now())
	mustOK(t, err, "erase after cancel")
	if len(res.HelpRequests) != 2 {
		t.Errorf("erased %d requests, want 2", len(res.HelpRequests))
	}
	var evs []string
	for _, e := range allEvents(t, s, rev+1) {
		evs = append(evs, evLine(e))
	}
	// The OPEN one is cancelled; both are updated. One revision.
	want := []string{"HELP_REQUEST_STATE_CHANGED helpRequests/ OPEN-> CANCELLED", "HELP_REQUEST_UPDATED helpRequests/ CANCELLED", "HELP_REQUEST_UPDATED helpRequests/ CANCELLED"}
	if !slices.Equal(evs, want) {
		t.Errorf("events %q, want %q", evs, want)
	}
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(acc.HelpRequest.Name)))
	res, err = s.ErasePerson(bg, volPhone, time.Now())
	mustOK(t, err, "erase volunteer after completion")
	if !slices.Equal(res.Volunteers, []string{busy.Name}) {
		t.Errorf("erased volunteers %v", res.Volunteers)
	}
	// Nobody with that phone: nothing happens, no rotation.
	e := keyEpoch(t, s)
	res, err = s.ErasePerson(bg, "+447700900599", time.Now())
	if err != nil || len(res.HelpRequests)+len(res.Volunteers) != 0 || keyEpoch(t, s) != e {
		t.Errorf("erasure of nobody: %v, %v, epoch %d -> %d", res, err, e, keyEpoch(t, s))
	}
	verifyAll(t, s)
}

// The key rotation after an erasure is the store's own write: the
// caller's audit record is written once, with the erasure, not again with
// the rotation.
func TestErasureAuditedOnce(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900650"), Idempotency{})
	mustOK(t, err, "create")
	e := keyEpoch(t, s)
	ctx := WithAudit(bg, &pb.AuditRecord{Actor: "system", Action: "erase", Resource: "phone"})
	_, err = s.ErasePerson(ctx, "+447700900650", time.Now())
	mustOK(t, err, "erase")
	if keyEpoch(t, s) == e {
		t.Fatal("no rotation")
	}
	recs, _, err := s.ListAuditRecords(bg, AuditFilter{Action: "erase"}, Page{Size: 10})
	mustOK(t, err, "list audit")
	if len(recs) != 1 {
		t.Errorf("%d erase audit records, want 1", len(recs))
	}
}

// The erasure's own transaction takes the erased requests and volunteers
// out of the phone indexes: the key rotation that follows it, in another
// transaction, must not be what removes them, as a crash can come between
// the two.
func TestErasureMovesPhoneIndexes(t *testing.T) {
	s, _ := newStore(t)
	const phone, other = "+447700900640", "+447700900641"
	_, err := s.CreateHelpRequest(bg, personalRequest("x", phone), Idempotency{})
	mustOK(t, err, "create")
	_, err = s.CreateVolunteer(bg, personalVolunteer("x", phone), Idempotency{})
	mustOK(t, err, "create volunteer")
	offered, err := s.CreateHelpRequest(bg, personalRequest("y", other), Idempotency{})
	mustOK(t, err, "create another")
	lcOffer(t, s, offered, lcVolunteer(t, s, 1)) // a lifecycle change to records the erasure leaves alone
	var res ErasureResult
	mustOK(t, s.c.do(bg, func(w *writeTx) (err error) {
		res, err = erase(w, s.sealer(w.tx), phone, time.Now())
		return err
	}), "erase without rotating")
	if len(res.HelpRequests) != 1 || len(res.Volunteers) != 1 {
		t.Fatalf("erased %d requests and %d volunteers, want 1 and 1", len(res.HelpRequests), len(res.Volunteers))
	}
	verifyIndexes(t, s) // every index entry is one the records and contacts make
	if got := names(listAllHR(t, s, HelpRequestFilter{Phone: phone}, 10)); len(got) != 0 {
		t.Errorf("list by the erased phone = %v, want none", got)
	}
	if got := names(listAllHR(t, s, HelpRequestFilter{Phone: other}, 10)); !slices.Equal(got, []string{offered.Name}) {
		t.Errorf("list by the other phone = %v, want %s", got, offered.Name)
	}
}

// An erased request cannot have personal data put back by an update, but
// its other fields can still change.
func TestUpdateAfterErasure(t *testing.T) {
	s, _ := newStore(t)
	hr, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900600"), Idempotency{})
	mustOK(t, err, "create")
	res, err := s.ErasePerson(bg, "+447700900600", time.Now())
	mustOK(t, err, "erase")
	erased := res.HelpRequests[0]
	upd := proto.Clone(erased).(*pb.HelpRequest)
	upd.Urgency = pb.Urgency_URGENCY_LOW
	upd.PersonalDataRemovedTime = nil // output only: kept from the stored one
	got, err := s.UpdateHelpRequest(bg, upd)
	mustOK(t, err, "update of a non-personal field")
	if got.PersonalDataRemovedTime == nil || hasPersonalData(got) || got.Urgency != pb.Urgency_URGENCY_LOW {
		t.Errorf("after update: %v", got)
	}
	again := proto.Clone(got).(*pb.HelpRequest)
	again.Requester = hr.Requester
	_, err = s.UpdateHelpRequest(bg, again)
	mustErr(t, err, ErrWrongState, "putting personal data back")
	again = proto.Clone(got).(*pb.HelpRequest)
	again.Details = "new notes"
	_, err = s.UpdateHelpRequest(bg, again)
	mustErr(t, err, ErrWrongState, "putting details back")
	// A create ignores the output-only field.
	in := personalRequest("y", "+447700900601")
	in.PersonalDataRemovedTime = timestamp(time.Now())
	created, err := s.CreateHelpRequest(bg, in, Idempotency{})
	mustOK(t, err, "create with the field set")
	if created.PersonalDataRemovedTime != nil || !hasPersonalData(created) {
		t.Errorf("create kept personal_data_removed_time: %v", created)
	}
	verifyAll(t, s)
}

func TestExportPerson(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900700"
	hr, err := s.CreateHelpRequest(bg, personalRequest("x", phone), Idempotency{})
	mustOK(t, err, "create")
	v1, v2 := lcVolunteer(t, s, 2), lcVolunteer(t, s, 2)
	o1 := lcOffer(t, s, hr, v1)
	lcMust(t, "decline")(s.DeclineOffer(bg, idOf(o1.Offer.Name)))
	o2 := lcOffer(t, s, hr, v2)
	// The same person volunteers too, with an offer of someone else's
	// request.
	me, err := s.CreateVolunteer(bg, personalVolunteer("y", phone), Idempotency{})
	mustOK(t, err, "create volunteer")
	o3 := lcOffer(t, s, lcRequest(t, s), me)
	lcRequest(t, s) // unrelated

	exp, err := s.ExportPerson(bg, phone)
	mustOK(t, err, "export")
	hr, _ = s.GetHelpRequest(bg, idOf(hr.Name))
	if len(exp.HelpRequests) != 1 || !proto.Equal(exp.HelpRequests[0], hr) || exp.HelpRequests[0].Requester.Phone != phone {
		t.Errorf("exported requests %v\nwant %v", exp.HelpRequests, hr)
	}
	me, _ = s.GetVolunteer(bg, idOf(me.Name))
	if len(exp.Volunteers) != 1 || !proto.Equal(exp.Volunteers[0], me) {
		t.Errorf("exported volunteers %v\nwant %v", exp.Volunteers, me)
	}
	var offers []string
	for _, o := range exp.Offers {
		offers = append(offers, o.Name)
	}
	slices.Sort(offers)
	want := []string{o1.Offer.Name, o2.Offer.Name, o3.Offer.Name}
	slices.Sort(want)
	if !slices.Equal(offers, want) {
		t.Errorf("exported offers %v, want %v", offers, want)
	}
	if exp, err := s.ExportPerson(bg, "+447700900799"); err != nil || len(exp.HelpRequests)+len(exp.Volunteers)+len(exp.Offers) != 0 {
		t.Errorf("export of nobody: %v, %v", exp, err)
	}
}

// ---------------------------------------------------------------------------
// Retention.

func TestPurgePersonalData(t *testing.T) {
	clock := newFakeClock()
	s, path := newStore(t, WithClock(clock.now))
	mk := func() *pb.HelpRequest { return lcRequest(t, s) }
	v := lcVolunteer(t, s, 5)

	fulfilled := mk()
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, fulfilled, v).Offer.Name)))
	lcMust(t, "complete")(s.CompleteHelpRequest(bg, idOf(fulfilled.Name)))
	cancelled := mk()
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(cancelled.Name)))
	expired := mk()
	res, err := s.ExpireHelpRequests(bg, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), 1)
	mustOK(t, err, "expire")
	if len(res) != 1 || res[0].HelpRequest.Name != expired.Name {
		t.Fatalf("expired %v", res)
	}
	open := mk()
	assigned := mk()
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, assigned, v).Offer.Name)))
	// Past the expiry, which is stamped with the sweep's time.
	clock.advance(72 * time.Hour)
	cutoff := clock.now()
	recent := mk()
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(recent.Name)))

	epoch := keyEpoch(t, s)
	rev, _ := s.Revision()
	n, err := s.PurgePersonalData(bg, cutoff, 2)
	mustOK(t, err, "purge")
	if n != 2 {
		t.Errorf("purged %d with limit 2", n)
	}
	n, err = s.PurgePersonalData(bg, cutoff, 100)
	mustOK(t, err, "purge the rest")
	if n != 1 {
		t.Errorf("purged %d more, want 1", n)
	}
	if e := keyEpoch(t, s); e != epoch+2 {
		t.Errorf("key epoch %d after two purges from %d: want one rotation each", e, epoch)
	}
	purgedAt := clock.last()
	for _, hr := range []*pb.HelpRequest{fulfilled, cancelled, expired} {
		got, err := s.GetHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "get")
		if hasPersonalData(got) || got.PersonalDataRemovedTime == nil || got.PersonalDataRemovedTime.AsTime().After(purgedAt) {
			t.Errorf("%s after purge: %v", hr.Name, got)
		}
		if got.State == pb.HelpRequest_STATE_OPEN || len(got.Needs) == 0 {
			t.Errorf("%s lost more than personal data: %v", hr.Name, got)
		}
	}
	for _, hr := range []*pb.HelpRequest{open, assigned, recent} {
		got, err := s.GetHelpRequest(bg, idOf(hr.Name))
		mustOK(t, err, "get")
		if !hasPersonalData(got) || got.PersonalDataRemovedTime != nil {
			t.Errorf("%s (%v) lost its personal data: %v", hr.Name, got.State, got)
		}
	}
	var updated []string
	for _, e := range allEvents(t, s, rev+1) {
		if e.Type != pb.Event_TYPE_HELP_REQUEST_UPDATED {
			t.Errorf("purge logged %v", e)
		}
		updated = append(updated, e.HelpRequest)
	}
	slices.Sort(updated)
	want := []string{fulfilled.Name, cancelled.Name, expired.Name}
	slices.Sort(want)
	if !slices.Equal(updated, want) {
		t.Errorf("purge logged updates of %v, want %v", updated, want)
	}
	// Nothing left to purge: no write, no rotation.
	rev, _ = s.Revision()
	n, err = s.PurgePersonalData(bg, cutoff, 100)
	if r, _ := s.Revision(); err != nil || n != 0 || r != rev || keyEpoch(t, s) != epoch+2 {
		t.Errorf("second purge: %d, %v, revision %d -> %d", n, err, rev, r)
	}
	if ring := readRing(t, path+".keys"); len(ring.epochs) != 1 || ring.epochs[epoch+2] == nil {
		t.Errorf("key file epochs %v", slices.Sorted(maps.Keys(ring.epochs)))
	}
	_, err = s.PurgePersonalData(bg, cutoff, 0)
	if err == nil {
		t.Error("purge with limit 0 succeeded")
	}
	verifyAll(t, s)
}

// ---------------------------------------------------------------------------
// The phone index.

// Phone filters work on hashed index keys, and a page token taken before
// a rotation (which rehashes every entry) still resumes after it.
func TestPhoneFilterAcrossRotation(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900300"
	var want []string
	for i := range 5 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("p-%d", i), testPostcodes[i], phone), Idempotency{})
		mustOK(t, err, "create")
		want = append(want, hr.Name)
		_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("q-%d", i), testPostcodes[i], "+447700900301"), Idempotency{})
		mustOK(t, err, "create")
	}
	v, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", phone), Idempotency{})
	mustOK(t, err, "create volunteer")
	_, err = s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", "+447700900399"), Idempotency{})
	mustOK(t, err, "create volunteer")
	_, err = s.CreateHelpRequest(bg, newHelpRequest("org-a", "gone", "AB10 1AB", "+447700900302"), Idempotency{})
	mustOK(t, err, "create")

	f := HelpRequestFilter{Phone: phone}
	page1, token, err := s.ListHelpRequests(bg, f, Page{Size: 2})
	mustOK(t, err, "page 1")
	e := keyEpoch(t, s)
	_, err = s.ErasePerson(bg, "+447700900302", time.Now())
	mustOK(t, err, "erase someone else")
	if keyEpoch(t, s) == e {
		t.Fatal("erasure did not rotate the key epoch")
	}
	rest := collectHR(t, s, f, token)
	if got := append(names(page1), rest...); !slices.Equal(got, want) {
		t.Errorf("by phone across a rotation: %v, want %v", got, want)
	}
	if got := names(listAllVol(t, s, VolunteerFilter{Phone: phone}, 10)); !slices.Equal(got, []string{v.Name}) {
		t.Errorf("volunteers by phone: %v", got)
	}
	// The index holds no phone number.
	err = s.view(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bHelpRequests, bVolunteers} {
			_ = tx.Bucket(b).Bucket(bByPhone).ForEach(func(k, _ []byte) error {
				if bytes.Contains(k, []byte("+44")) || len(k) != phoneTokenSize+1+16 {
					t.Errorf("%s/by_phone key %q", b, k)
				}
				return nil
			})
		}
		return nil
	})
	mustOK(t, err, "view")
	verifyAll(t, s)
}

func collectHR(t testing.TB, s *BoltStore, f HelpRequestFilter, token string) []string {
	t.Helper()
	var out []string
	for token != "" {
		page, next, err := s.ListHelpRequests(bg, f, Page{Size: 2, Token: token})
		mustOK(t, err, "next page")
		out = append(out, names(page)...)
		token = next
	}
	return out
}

// ---------------------------------------------------------------------------
// Migration and the key file.

// writeV3 writes a file as schema version 3 stored it: personal fields in
// the clear in records/, contacts as plain protobuf, phone numbers in the
// clear in by_phone.
func writeV3(t *testing.T, path string, hr *pb.HelpRequest, v *pb.Volunteer) {
	t.Helper()
	hrID, vID := ulidBytes(t), ulidBytes(t)
	writeBoltFile(t, path, func(tx *bolt.Tx) error {
		for _, step := range migrations[:3] {
			if err := step(tx); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if err := meta.Put(kSchemaVersion, u64(3)); err != nil {
			return err
		}
		if err := meta.Put(kRevision, u64(2)); err != nil {
			return err
		}
		put := func(b *bolt.Bucket, k []byte, m proto.Message) error {
			raw, err := marshal.Marshal(m)
			if err != nil {
				return err
			}
			return b.Put(k, raw)
		}
		top := tx.Bucket(bHelpRequests)
		r := proto.Clone(hr).(*pb.HelpRequest)
		r.Name, r.Etag, r.State, r.Requester = helpRequestPrefix+idString(hrID), "1", pb.HelpRequest_STATE_OPEN, nil
		if err := put(top.Bucket(bRecords), hrID, r); err != nil {
			return err
		}
		if err := put(top.Bucket(bContacts), hrID, hr.Requester); err != nil {
			return err
		}
		for b, k := range map[string][]byte{
			string(bByState):    append([]byte{byte(r.State)}, hrID...),
			string(bByOrg):      join([]byte(r.Organisation), hrID),
			string(bByPostcode): join([]byte(r.Location.Postcode), hrID),
			string(bByPhone):    join([]byte(hr.Requester.Phone), hrID),
		} {
			if err := top.Bucket([]byte(b)).Put(k, nil); err != nil {
				return err
			}
		}
		top = tx.Bucket(bVolunteers)
		vr := proto.Clone(v).(*pb.Volunteer)
		vr.Name, vr.Etag, vr.Contact = volunteerPrefix+idString(vID), "2", nil
		if err := put(top.Bucket(bRecords), vID, vr); err != nil {
			return err
		}
		if err := put(top.Bucket(bContacts), vID, v.Contact); err != nil {
			return err
		}
		for b, k := range map[string][]byte{
			string(bByOrg):      join([]byte(vr.Organisation), vID),
			string(bByPostcode): join([]byte(vr.Home.Postcode), vID),
			string(bByPhone):    join([]byte(v.Contact.Phone), vID),
		} {
			if err := top.Bucket([]byte(b)).Put(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func ulidBytes(t *testing.T) []byte {
	id, err := newIDGen().next(time.Now())
	mustOK(t, err, "id")
	return id[:]
}

func TestOpenMigratesV3ToEncrypted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	const phone, vPhone = "+447700900400", "+447700900401"
	const canary = "MIGRATION-CANARY-5u2"
	hrIn, vIn := personalRequest(canary, phone), personalVolunteer(canary, vPhone)
	writeV3(t, path, hrIn, vIn)
	if _, err := os.Stat(path + ".keys"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file before the first open: %v", err)
	}

	s := openAt(t, path)
	mustOK(t, s.db.View(func(tx *bolt.Tx) error {
		checkLayout(t, tx)
		return nil
	}), "view")
	hrs := listAllHR(t, s, HelpRequestFilter{Phone: phone}, 10)
	if len(hrs) != 1 {
		t.Fatalf("by phone after migration: %v", names(hrs))
	}
	got := hrs[0]
	want := proto.Clone(hrIn).(*pb.HelpRequest)
	want.Name, want.Etag, want.State = got.Name, "1", pb.HelpRequest_STATE_OPEN
	if !proto.Equal(got, want) {
		t.Errorf("request after migration %v\nwant %v", got, want)
	}
	vols := listAllVol(t, s, VolunteerFilter{Phone: vPhone}, 10)
	if len(vols) != 1 || vols[0].Contact.DisplayName != vIn.Contact.DisplayName || !slices.Equal(vols[0].Home.AddressLines, vIn.Home.AddressLines) {
		t.Fatalf("volunteer after migration: %v", vols)
	}
	// No personal data left in any live value or key: records stripped,
	// contacts sealed, the phone index hashed.
	mustOK(t, s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			var walk func(path string, b *bolt.Bucket) error
			walk = func(path string, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					if v == nil {
						return walk(path+"/"+string(k), b.Bucket(k))
					}
					for _, secret := range []string{canary, phone, vPhone} {
						if bytes.Contains(k, []byte(secret)) || bytes.Contains(v, []byte(secret)) {
							t.Errorf("%s/%q holds %q after migration", path, k, secret)
						}
					}
					return nil
				})
			}
			return walk(string(name), b)
		})
	}), "view")
	// Nor in the raw file: the migration compacted away the free pages
	// that held the plain values.
	raw := readFile(t, path)
	for _, secret := range []string{canary, phone, vPhone} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the migrated file holds %q in its bytes", secret)
		}
	}
	if !bytes.Contains(raw, []byte("Union Street")) {
		t.Error("the migrated file holds no street: the scan is not reading it")
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("compaction left its temporary file: %v", err)
	}
	verifyAll(t, s)
	// The migrated store erases like any other.
	_, err := s.ErasePerson(bg, phone, time.Now())
	mustOK(t, err, "erase after migration")
	mustOK(t, s.Close(), "close")
	s2 := openAt(t, path)
	verifyAll(t, s2)
}

func TestOpenKeyFileProblems(t *testing.T) {
	s, path := newStore(t)
	_, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900900"), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	keyPath := path + ".keys"
	keys := readFile(t, keyPath)

	// Missing: refused, and no new keyring made.
	mustOK(t, os.Remove(keyPath), "remove key file")
	_, err = Open(path, WithOpenTimeout(100*time.Millisecond))
	mustErr(t, err, ErrKeyFileMissing, "open without the key file")
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused open made a key file: %v", err)
	}
	// Another store's key file: refused.
	other, otherPath := newStore(t)
	mustOK(t, other.Close(), "close other")
	mustOK(t, os.WriteFile(keyPath, readFile(t, otherPath+".keys"), 0o600), "write")
	_, err = Open(path, WithOpenTimeout(100*time.Millisecond))
	mustErr(t, err, ErrKeyFileMismatch, "open with another store's key file")
	// Damaged: refused.
	damaged := bytes.Clone(keys)
	damaged[40] ^= 1
	mustOK(t, os.WriteFile(keyPath, damaged, 0o600), "write")
	_, err = Open(path, WithOpenTimeout(100*time.Millisecond))
	if err == nil || errors.Is(err, ErrKeyFileMissing) {
		t.Errorf("open with a damaged key file: %v", err)
	}
	// The right one, somewhere else, named by WithKeyFile.
	elsewhere := filepath.Join(t.TempDir(), "doorstep.keys")
	mustOK(t, os.WriteFile(elsewhere, keys, 0o600), "write")
	s2 := openAt(t, path, WithKeyFile(elsewhere))
	if got := listAllHR(t, s2, HelpRequestFilter{Phone: "+447700900900"}, 10); len(got) != 1 {
		t.Errorf("with the key file moved: %v", names(got))
	}
}

// A crash part-way through a rotation is finished or tidied by Open.
func TestOpenAfterInterruptedRotation(t *testing.T) {
	s, path := newStore(t)
	keyPath := path + ".keys"
	hr, err := s.CreateHelpRequest(bg, personalRequest("x", "+447700900950"), Idempotency{})
	mustOK(t, err, "create")
	mustOK(t, s.Close(), "close")
	ring := readRing(t, keyPath)
	ek, err := newEpochKeys()
	mustOK(t, err, "epoch")

	// A crash after the new epoch was written but before the re-wrap
	// committed: the erasure's transaction left the rotation due.
	mustOK(t, writeKeyFile(keyPath, ring.with(2, ek)), "write key file")
	writeBoltFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kRotationDue, []byte{1}) })
	s = openAt(t, path)
	after := readRing(t, keyPath)
	if e := keyEpoch(t, s); e != 3 || len(after.epochs) != 1 || after.epochs[3] == nil {
		t.Errorf("after an interrupted rotation: file epoch %d, key file %v", e, slices.Sorted(maps.Keys(after.epochs)))
	}
	if got, err := s.GetHelpRequest(bg, idOf(hr.Name)); err != nil || !proto.Equal(got, hr) {
		t.Errorf("get: %v, %v", got, err)
	}
	mustOK(t, s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bMeta).Get(kRotationDue) != nil {
			t.Error("rotation still due")
		}
		return nil
	}), "view")
	verifyAll(t, s)
	mustOK(t, s.Close(), "close")

	// A crash after the re-wrap committed but before the old epoch was
	// dropped: an epoch nothing uses is pruned.
	mustOK(t, writeKeyFile(keyPath, readRing(t, keyPath).with(9, ek)), "write key file")
	mustOK(t, os.WriteFile(keyPath+".tmp", []byte("stale"), 0o600), "write stale temp")
	s = openAt(t, path)
	if r := readRing(t, keyPath); len(r.epochs) != 1 || r.epochs[3] == nil {
		t.Errorf("unused epoch kept: %v", slices.Sorted(maps.Keys(r.epochs)))
	}
	if _, err := os.Stat(keyPath + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary key file kept: %v", err)
	}
	if got, err := s.GetHelpRequest(bg, idOf(hr.Name)); err != nil || !proto.Equal(got, hr) {
		t.Errorf("get: %v, %v", got, err)
	}
	mustOK(t, s.Close(), "close")

	// A key file that lacks the epoch the data is under is refused.
	mustOK(t, writeKeyFile(keyPath, ring), "write the old key file")
	_, err = Open(path, WithOpenTimeout(100*time.Millisecond))
	mustErr(t, err, ErrKeyFileMismatch, "open with a key file lacking the epoch")
}

// Reads, writes and phone lookups go on while erasures rotate the keys.
func TestErasureConcurrentWithTraffic(t *testing.T) {
	s, _ := newStore(t)
	const phone = "+447700900100"
	var keep []*pb.HelpRequest
	for i := range 10 {
		hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("k-%d", i), "AB10 1AB", phone), Idempotency{})
		mustOK(t, err, "create")
		keep = append(keep, hr)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := listAllHR(t, s, HelpRequestFilter{Phone: phone}, 3); len(got) != len(keep) {
					t.Errorf("by phone during rotation: %d, want %d", len(got), len(keep))
					return
				}
				if _, err := s.GetHelpRequest(bg, idOf(keep[3].Name)); err != nil {
					t.Errorf("get during rotation: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.CreateVolunteer(bg, newVolunteer("org-a", "AB10 1AB", fmt.Sprintf("+4477009002%02d", i%100)), Idempotency{}); err != nil {
				t.Errorf("create during rotation: %v", err)
				return
			}
		}
	})
	for i := range 8 {
		p := fmt.Sprintf("+4477009001%02d", 50+i)
		_, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", p), Idempotency{})
		mustOK(t, err, "create")
		res, err := s.ErasePerson(bg, p, time.Now())
		mustOK(t, err, "erase")
		if len(res.HelpRequests) != 1 {
			t.Errorf("erased %d", len(res.HelpRequests))
		}
	}
	close(stop)
	waitGroup(t, &wg, "traffic")
	verifyAll(t, s)
}

// BenchmarkRotateKeys is the key rotation every erasure ends with: writes
// of rotateChunk records that re-wrap every data key and fill the phone
// indexes under the new epoch, other writes going on between them. At
// two sizes, to show how it grows.
//
//	go test -run '^$' -bench RotateKeys -benchtime 3x ./store/
func BenchmarkRotateKeys(b *testing.B) {
	for _, n := range []int{20_000, 100_000} {
		b.Run(fmt.Sprintf("requests=%d", n), func(b *testing.B) {
			s, _ := newStore(b)
			fillHelpRequests(b, s, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.rotateKeys(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/request")
		})
	}
}

// A key rotation rebuilds phone_token in id order, in a bucket made anew:
// packed like the one it replaces (packAppends).
func TestRotationKeepsPhoneTokensPacked(t *testing.T) {
	s, _ := newStore(t)
	const n = 1200
	createMany(t, n, 16, func(i int) error {
		r := newHelpRequest("torry-helpers", "", "AB10 1XG", fmt.Sprintf("+4477009%05d", i))
		_, err := s.CreateHelpRequest(bg, r, Idempotency{})
		return err
	})
	if _, err := s.ErasePerson(bg, "+447700900000", time.Now()); err != nil {
		t.Fatal(err)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bHelpRequests).Bucket(bPhoneToken)
		if keys := b.Stats().KeyN; keys != n-1 {
			t.Errorf("phone_token holds %d entries after the erasure, want %d", keys, n-1)
		}
		fill, pages := leafFill(b)
		if pages < 4 || fill < 0.8 {
			t.Errorf("phone_token after the rotation: %d leaf pages %.0f%% full, want 4 or more at least 80%% full", pages, 100*fill)
		}
		t.Logf("phone_token: %d leaf pages, %.0f%% full", pages, 100*fill)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
