package main

import (
	"strings"
	"testing"
	"time"
)

// TestVolunteerDelete: a coordinator removing a volunteer who has left
// had no command for it (only an admin's erasure by phone, which also
// reaches requests the person made). It deletes after a confirmation,
// refuses while they hold an offer, saying how to end it, and their
// token stops working.
func TestVolunteerDelete(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	coord := "--token=" + e.coordinator
	volSecret := e.volunteerToken(callum)

	// Not on a terminal, nothing is asked, and nothing is deleted.
	checkFailure(t, e.run(coord, "volunteer", "delete", callum), true, exitUsage,
		"Deleting cannot be undone: give --yes to confirm (not on a terminal, so nothing is asked).")
	// An offer waits for them: ended first, as the refusal says.
	r := e.run(coord, "volunteer", "delete", callum, "--yes")
	if r.code != exitFailed || !strings.Contains(r.stderr, "Nothing was deleted: "+callum+" has an offer waiting or a job assigned (offered request "+idOf(req)+"), so hold them first (doorstep volunteer hold "+idOf(callum)+")") {
		t.Errorf("delete with an offer waiting: exit %d, %q", r.code, r.stderr)
	}
	e.ok("offer", "decline", offer)

	// At a terminal, anything but yes stops it.
	term, code, _ := e.atTerminal(t, []string{coord, "volunteer", "delete", callum})
	term.expect("Type yes to delete (Enter to stop): ")
	if shown := term.text(); !strings.Contains(shown, "This deletes "+callum+" (Callum Reid, active)") {
		t.Errorf("the prompt does not say whom it deletes:\n%s", shown)
	}
	term.send("no")
	select {
	case c := <-code:
		if c != exitUsage {
			t.Errorf("answered no: exit %d", c)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("volunteer delete did not finish")
	}
	e.ok("volunteer", "show", callum) // still there

	if out := e.ok(coord, "volunteer", "delete", callum, "--yes"); out != "Deleted "+callum+" (Callum Reid): their record is gone and their tokens no longer work.\n" {
		t.Errorf("volunteer delete --yes = %q", out)
	}
	if r := e.run("volunteer", "show", callum); r.code == 0 {
		t.Errorf("volunteer show after the delete: exit 0, %q", r.stdout)
	}
	if r := e.run("--token="+volSecret, "offer", "list", "--volunteer", callum); r.code != exitDenied {
		t.Errorf("the deleted volunteer's token: exit %d, %q", r.code, r.stderr)
	}
}
