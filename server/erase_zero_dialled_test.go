package server_test

import (
	"testing"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestErasureLeavesTheNumberWithAZeroInFront: in Gabon, as in Italy, the
// zero after the country code is dialled from abroad, and +241 06 03 12
// 34 and +241 603 1234 are both numbers in use, two people's. An erasure
// or export by one took the other's requests too, their name, address
// and notes, as if the zero were a trunk prefix typed by mistake. The
// same holds where every number starts with a zero (Côte d'Ivoire,
// Benin, the Congo): the zero is the number's, and the form without it
// is nobody's to take.
func TestErasureLeavesTheNumberWithAZeroInFront(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	for _, tc := range []struct{ other, given string }{
		{"+241 06 03 12 34", "+241 603 1234"},
		{"+241 603 9876", "+241 06 03 98 76"},
	} {
		other := h.createHR(shopping(callerPhone(tc.other)))
		exp, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		if len(exp.HelpRequests) != 0 {
			t.Errorf("export by %q: %d requests, want none of %s's", tc.given, len(exp.HelpRequests), other.GetRequester().GetPhone())
		}
		res, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		if res.HelpRequestsErased != 0 {
			t.Errorf("erasure by %q erased %d requests, want none of %s's", tc.given, res.HelpRequestsErased, other.GetRequester().GetPhone())
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"+225 (0)7 07 12 34 56", "+2250707123456"},
		{"+229 (0)1 95 12 34 56", "+2290195123456"},
		{"+242 (0)6 123 4567", "+242061234567"},
		{"+241 (0)6 03 12 34", "+24106031234"},
	} {
		if got, err := phone.Normalise(tc.in); err != nil || got != tc.want {
			t.Errorf("phone.Normalise(%q) = %q, %v; want %q, its zero dialled from abroad", tc.in, got, err, tc.want)
		}
	}
}
