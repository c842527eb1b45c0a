package main

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRequestEditStoredThoughOldNumberNotListed: the caller's new number
// was stored, but the look-up of their other requests on the old one,
// made after it to name them, failed (the call rate, a server restarted
// between the two calls). The command failed, exit 1, with only the
// look-up's error: the worker told the caller nothing was changed, and a
// script took the edit for lost. The change stands and is said; the
// look-up's failure is a note with the command that makes it.
func TestRequestEditStoredThoughOldNumberNotListed(t *testing.T) {
	e := newTestEnvWith(t, stopping(func(req any) bool {
		r, ok := req.(*pb.ListHelpRequestsRequest)
		return ok && r.GetRequesterPhone() != ""
	}))
	req := e.newRequest()
	r := e.run("request", "edit", req, "--phone", "07700 900777")
	if r.code != 0 || !strings.Contains(r.stdout, "Changed ") {
		t.Errorf("request edit --phone, the look-up after it failing: exit %d\n%s%s\nwant exit 0 and the change said", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "doorstep request find --phone") {
		t.Errorf("stderr %q: want the command that finds the requests left on the old number", r.stderr)
	}
}
