package server_test

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestContinuityIsNotCarriedToAnotherHomeOnOneNumber: a care worker
// rings for her clients from her work mobile, the number each request
// gives. Bob did Mr Brown's shopping; when she rang for Mrs Grey, at
// another address, the helpline was told Bob "helped this person before"
// and saw him ranked up for it, though he has never met her: the number
// is one, the people two. Continuity is from a request at the same
// postcode, which the same caller's requests share; Mr Brown's next
// request still has it.
func TestContinuityIsNotCarriedToAnotherHomeOnOneNumber(t *testing.T) {
	h := newHarness(t)
	const work = "07700 900555"
	bob := h.createVol(matchVolunteer("Bob", "AB11 5BW", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900002"; v.Capacity = 3 }))
	h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900001" }))
	brown := h.createHR(shopping(callerPhone(work), func(r *pb.HelpRequest) { r.Requester.DisplayName = "Mr Brown" }))
	o := h.offer(brown.Name, bob.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: brown.Name}); err != nil {
		t.Fatal(err)
	}

	grey := h.createHR(shopping(callerPhone(work), func(r *pb.HelpRequest) {
		r.Requester.DisplayName = "Mrs Grey"
		r.Location = &pb.Location{Postcode: "AB10 1AF", Street: "Correction Wynd", AddressLines: []string{"3 Correction Wynd"}}
	}))
	brownAgain := h.createHR(shopping(callerPhone(work), func(r *pb.HelpRequest) { r.Requester.DisplayName = "Mr Brown" }))

	for _, tc := range []struct {
		who    string
		name   string
		helped bool
	}{{"Mrs Grey", grey.Name, false}, {"Mr Brown", brownAgain.Name, true}} {
		var found *pb.Candidate
		for _, c := range h.cands(tc.name) {
			if c.Volunteer == bob.Name {
				found = c
			}
		}
		if found == nil {
			t.Fatalf("%s: Bob is not a candidate", tc.who)
		}
		said := strings.Contains(found.Explanation, "helped this person before")
		if said != tc.helped || (found.ScoreParts.GetContinuity() < 0) != tc.helped {
			t.Errorf("%s: Bob %q, continuity %v; helped this person before: %v", tc.who, found.Explanation, found.ScoreParts.GetContinuity(), tc.helped)
		}
	}
}
