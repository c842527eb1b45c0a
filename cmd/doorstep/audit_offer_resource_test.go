package main

import (
	"strings"
	"testing"
)

// TestAdminAuditOfAnOffer: the safeguarding lead has the offer that sent
// Callum to the complainant's door (from volunteer show, or the event
// stream) and asks the audit log who made it. --resource took offers/ID,
// and the server then refused it with "The resource must be ...
// (resource)", naming no option and not where an offer's steps are kept.
// It says the offer's steps are on its request's trail, and the command
// that reads it.
func TestAdminAuditOfAnOffer(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.asAdmin()
	for _, tc := range []struct {
		name, resource string
		code           int
		want           string
	}{
		{"an offer", offer, exitUsage, "--resource: " + offer + " is an offer: who made it (action offer) and who answered it are on its request's trail: " +
			"doorstep admin audit --resource " + req + "."},
		{"an offer's id in capitals", "Offers/" + strings.ToUpper(idOf(offer)), exitUsage, "--resource: " + offer + " is an offer: *" + req + "."},
		{"no such offer", "offers/01kk0000000000000000000000", exitNotFound, "There is no offers/01kk0000000000000000000000*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFailure(t, e.run("admin", "audit", "--resource", tc.resource), true, tc.code, tc.want)
		})
	}
	if out := e.ok("admin", "audit", "--resource", req, "--action", "offer"); strings.Count(out, "MatchingService.CreateOffer") != 1 {
		t.Errorf("the request's trail does not hold the offer:\n%s", out)
	}
}
