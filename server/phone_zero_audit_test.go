package server_test

import (
	"slices"
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestTrunkZeroStoredEarlierRewriteAudited: a new call on the number an
// older version stored as +3530871234567 stores today's form on the
// caller's request in hand and on her volunteer record. That is a change
// of their contact details, and who made it is asked of the audit trail
// as of any other: it was on no record at all, the trail of each saying
// nobody had changed what now reads differently. It is the server's
// change, in the call that set it off.
func TestTrunkZeroStoredEarlierRewriteAudited(t *testing.T) {
	h := newHarness(t)
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_HELPLINE}))
	first := h.createHR(shopping(callerPhone("+353 87 123 4567")))
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("+353 87 123 4567")))
	legacyRequest(t, h, first.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
	legacyVolunteer(t, h, self.Name, func(v *pb.Volunteer) { v.Contact.Phone = "+3530871234567" })

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
		// The server's own change, set off by the desk's call: a
		// partner's call would set it off on another group's records too.
		if len(recs) != 1 || !slices.Contains(recs[0].Fields, c.field) || recs[0].Actor != "system" || !strings.HasSuffix(recs[0].Method, "/CreateHelpRequest") {
			t.Errorf("%s: audited updates %v, want one of %s by the system, in the desk's CreateHelpRequest call", c.name, recs, c.field)
		}
	}
}
