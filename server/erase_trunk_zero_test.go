package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestErasureTakesTheNumberWithItsTrunkZero: before the zero after a
// country code was dropped, "+353 (0)87 123 4567" and "+353 087 123 4567"
// were stored as +3530871234567; the same caller's number given today is
// +353871234567. An erasure or export by the number
// as the caller gives it now left the requests stored with the zero, and
// their name, address and notes, behind, and one by the number with the
// zero left today's. Both are one number, and one person's.
func TestErasureTakesTheNumberWithItsTrunkZero(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ stored, given string }{
		{"+3530871234567", "+353 (0)87 123 4567"},
		{"+3530867654321", "+353 086 765 4321"},
		{"+49015123456789", "0049 151 2345 6789"},
	} {
		hr := h.createHR(shopping(callerPhone(tc.given)))
		legacyRequest(t, h, hr.Name, func(r *pb.HelpRequest) { r.Requester.Phone = tc.stored }) // as an older version stored it
		hr.Requester.Phone = tc.stored
		upgradeFrom13(t, h)
		admin := pb.NewAdminServiceClient(h.conn)
		exp, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		if len(exp.HelpRequests) != 1 || exp.HelpRequests[0].Name != hr.Name {
			t.Errorf("export by %q of a request stored from %q (%s): %d requests, want it", tc.given, tc.stored, hr.GetRequester().GetPhone(), len(exp.HelpRequests))
		}
		res, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		if res.HelpRequestsErased != 1 {
			t.Errorf("erasure by %q of a request stored from %q (%s): %d erased, want it", tc.given, tc.stored, hr.GetRequester().GetPhone(), res.HelpRequestsErased)
		}
	}
	// Italy's zero is part of the number: +39 06 ... and +39 6 ... are two.
	italy := h.createHR(shopping(callerPhone("+39 06 1234 5678")))
	admin := pb.NewAdminServiceClient(h.conn)
	if res, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "+39 612 345 678"}); err != nil || res.HelpRequestsErased != 0 {
		t.Errorf("erasure by +39 612 345 678: %v, %v; want nothing erased of %s", res, err, italy.GetRequester().GetPhone())
	}
}
