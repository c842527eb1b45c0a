package server_test

import (
	"slices"
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestTrunkZeroStoredEarlierRewriteAudited: the upgrade gives the
// number an older version stored as +3530871234567 its form today on the
// caller's request and on her volunteer record. That is a change of their
// contact details, and who made it is asked of the audit trail as of any
// other: each record's trail has it, as the system's, in the upgrade. A
// new call on the number afterwards changes neither record.
func TestTrunkZeroStoredEarlierRewriteAudited(t *testing.T) {
	h := newHarness(t)
	first := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("+353 87 123 4567")))
	legacyRequest(t, h, first.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	legacyVolunteer(t, h, self.Name, func(v *pb.Volunteer) { v.Contact.Phone = "+3530871234567" })
	upgradeFrom13(t, h)

	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_HELPLINE}))
	if _, err := pb.NewHelpRequestServiceClient(conn).CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{
		HelpRequest: shopping(callerPhone("+353 087 123 4567")),
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, field string }{{first.Name, "requester"}, {self.Name, "contact"}} {
		recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: c.name, Action: "update"}, store.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || !slices.Equal(recs[0].Fields, []string{c.field}) || recs[0].Actor != "system" || !strings.Contains(recs[0].Method, "schema-14") {
			t.Errorf("%s: audited updates %v, want one of %s by the system, in the upgrade to schema 14", c.name, recs, c.field)
		}
	}
}
