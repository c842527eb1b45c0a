package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestErasureOnEachRecordsAudit: every change to personal data is audited
// against the record changed (a purge writes one record per request, an
// export one read_contact per record). An erasure writes one for the
// request, by phone, and one on each record it erased, so that an erased
// request's or volunteer's own trail says who erased it and when.
func TestErasureOnEachRecordsAudit(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	hr := h.createHR(shopping(callerPhone("07700 900777")))
	vol := h.createVol(matchVolunteer("Same Person", "AB10 1AF", phoned("07700 900777")))
	if _, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{hr.Name, vol.Name} {
		recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: name}, store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		found := false
		for _, a := range actions {
			found = found || a == "erase"
		}
		if !found {
			t.Errorf("audit trail of %s after its erasure: %v; no erase record", name, actions)
		}
	}
}
