package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTrunkZeroInBracketsAbroad: a daughter in Dublin rings for her
// mother in Aberdeen and gives her own mobile as it is printed on her
// card, "+353 (0)87 123 4567". The (0) is dialled only from inside
// Ireland, as "+44 (0)1224" is from inside the UK; it was stored as
// +3530871234567, a number that does not connect from here, and a later
// search by "+353 87 123 4567" (the same number said plainly) found
// nothing of her mother's requests.
func TestTrunkZeroInBracketsAbroad(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ given, plain, want string }{
		{"+353 (0)87 123 4567", "+353 87 123 4567", "+353871234567"},
		{"00353 (0) 86 765 4321", "+353867654321", "+353867654321"},
		{"+34 (0)612 345 678", "+34 612 345 678", "+34612345678"},
		{"+49 (0)151 2345 6789", "0049 151 2345 6789", "+4915123456789"},
		{"+41 (0)79 123 45 67", "+41 79 123 45 67", "+41791234567"},
	} {
		hr := h.createHR(shopping(callerPhone(tc.given)))
		if got := hr.GetRequester().GetPhone(); got != tc.want {
			t.Errorf("%q stored as %q, want %q (dialled from the UK)", tc.given, got, tc.want)
		}
		resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{RequesterPhone: tc.plain})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.HelpRequests) != 1 || resp.HelpRequests[0].Name != hr.Name {
			t.Errorf("requests from %q, given as %q: found %d, want the one made", tc.plain, tc.given, len(resp.HelpRequests))
		}
	}
}
