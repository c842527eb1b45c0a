package server_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// upgradeFrom13 closes h, marks its data file as one written at schema 13
// and serves it again: the upgrade gives the numbers stored in an older
// form (legacyRequest, legacyVolunteer: +3530871234567) their form today,
// as it does for a file an older version wrote.
func upgradeFrom13(t *testing.T, h *harness) {
	t.Helper()
	h.close()
	db, err := bolt.Open(h.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 13))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	h.serve(st)
}

// TestUpgradeContinuityAcrossForms: Bob did the shopping of a caller
// whose daughter rings from Dublin, a request an older version stored as
// +3530871234567 and long fulfilled. She rings again after the upgrade,
// typed as ever ("+353 087 ..."), stored as +353871234567: the helpline
// was not told Bob had helped her mother before, the closed request
// being in the older form, which no new call rewrote.
func TestUpgradeContinuityAcrossForms(t *testing.T) {
	h := newHarness(t)
	bob := h.createVol(matchVolunteer("Bob", "AB11 5BW", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900002"; v.Capacity = 3 }))
	h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900001" }))
	first := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, bob.Name).Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: first.Name}); err != nil {
		t.Fatal(err)
	}
	legacyRequest(t, h, first.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	upgradeFrom13(t, h)
	if got := h.getHR(first.Name).GetRequester().GetPhone(); got != "+353871234567" {
		t.Errorf("the fulfilled request's number after the upgrade: %s, want +353871234567", got)
	}
	again := h.createHR(shopping(callerPhone("+353 087 123 4567")))
	for _, c := range h.cands(again.Name) {
		if c.Volunteer == bob.Name && (!strings.Contains(c.Explanation, "helped this person before") || c.ScoreParts.GetContinuity() >= 0) {
			t.Errorf("Bob for the second call: %q, continuity %v; want helped this person before", c.Explanation, c.ScoreParts.GetContinuity())
		}
	}
}

// TestRefusedCallChangesNoOtherRecord: a partner's new call on the
// number of a request stored as +3530871234567, refused as its
// external_id is taken, gave that request the number's form today all
// the same (a new etag, an event, an audit record), the rewrite being
// made before the write it served. A refused call changes nothing.
func TestRefusedCallChangesNoOtherRecord(t *testing.T) {
	h := newHarness(t)
	older := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	legacyRequest(t, h, older.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	taken := validHelpRequest()
	taken.ExternalId = "row-17"
	h.createHR(taken)
	before := h.getHR(older.Name)
	rev, err := h.st.Revision()
	if err != nil {
		t.Fatal(err)
	}
	again := shopping(callerPhone("+353 087 123 4567"))
	again.ExternalId = "row-17"
	_, err = h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: again})
	wantFailure(t, err, codes.AlreadyExists, "EXTERNAL_ID_EXISTS")
	if after := h.getHR(older.Name); after.Etag != before.Etag || after.GetRequester().GetPhone() != before.GetRequester().GetPhone() {
		t.Errorf("the refused call changed %s: etag %s, number %s; was %s, %s", older.Name, after.Etag, after.GetRequester().GetPhone(), before.Etag, before.GetRequester().GetPhone())
	}
	if now, err := h.st.Revision(); err != nil || now != rev {
		t.Errorf("revision after the refused call: %d, %v; want %d", now, err, rev)
	}
	recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: older.Name, Action: "update"}, store.Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 { // legacyRequest writes through the store, unaudited
		t.Errorf("audited updates of %s after the refused call: %v", older.Name, recs)
	}
}
