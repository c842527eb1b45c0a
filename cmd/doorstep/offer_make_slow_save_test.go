package main

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestOfferMakeWhoseAnswerCameTooLate: offer make on a slow disk whose
// answer did not come within --timeout said "Try again", and the offer,
// made all the same, then refused the second: "Not offered: ... is
// offered to Callum Reid already ... If they said no, decline it for
// them", the coordinator's own offer read as another's. It asks once more
// under the same request_id, and says the offer was made; when that
// answer is lost too, it says where to look, not to try again.
func TestOfferMakeWhoseAnswerCameTooLate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lost   map[int]bool
		code   int
		stdout string
		stderr string
	}{
		{"first lost", map[int]bool{1: true}, exitOK, "Offered ", "asking it again"},
		{"both lost", map[int]bool{1: true, 2: true}, exitUnreachable, "", "doorstep request show "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scriptedCreates{method: pb.MatchingService_CreateOffer_FullMethodName, lost: tc.lost}
			e := newTestEnvWith(t, s.option())
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			callum, _ := e.addVolunteers()
			req := e.newRequest()
			r := e.run("offer", "make", req, callum)
			if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) || strings.Contains(r.stderr, "Try again") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q and %q, without an invitation to try again", r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
			if hrs := e.storedRequests(store.HelpRequestFilter{}); len(hrs) != 1 || hrs[0].State != pb.HelpRequest_STATE_OFFERED {
				t.Errorf("requests stored %v; want the one, offered", hrs)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.ids) != 2 || s.ids[0] == "" || s.ids[1] != s.ids[0] {
				t.Errorf("asked under request_ids %q; want twice under one", s.ids)
			}
		})
	}
}
