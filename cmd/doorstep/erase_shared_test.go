package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/store"
)

// TestEraseSharedPhoneNamesEveryone: a household with one phone is
// registered as two volunteers (volunteer add --shared-phone), and one of
// them asks to be erased. Erasure and export go by number, so both would
// be erased, and the export handed to one would hold the other's record:
// the admin is told, before typing the number again and atop the export,
// whom the number's records name.
func TestEraseSharedPhoneNamesEveryone(t *testing.T) {
	e := newTestEnv(t)
	e.addVolunteers() // Callum Reid, 07700 900123
	e.ok("volunteer", "add", "--name", "Morag Reid", "--phone", "07700 900123", "--postcode", "ab10 1af",
		"--available", "weekdays 9-17", "--org", org, "--shared-phone")
	e.asAdmin()

	out := e.ok("admin", "export", "--phone", "07700 900123")
	if !strings.Contains(out, "Callum Reid and Morag Reid") || !strings.Contains(out, "share") {
		t.Errorf("the export of a shared number does not say whom its records name:\n%s", out)
	}
	if out := e.ok("admin", "export", "--phone", "07700 900456"); strings.Contains(out, "share") {
		t.Errorf("the export of one person's number speaks of sharing:\n%s", out)
	}

	term, code, _ := e.atTerminal(t, []string{"admin", "erase", "--phone", "07700 900123"})
	term.expect("Callum Reid and Morag Reid")
	term.expect("Type the phone number again to erase (Enter to stop): ")
	term.send("")
	select {
	case c := <-code:
		if c != exitUsage {
			t.Errorf("Enter alone: exit %d", c)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("admin erase did not finish")
	}
	vols, _, err := e.st.ListVolunteers(context.Background(), store.VolunteerFilter{}, store.Page{Size: 100})
	if err != nil || len(vols) != 3 {
		t.Errorf("after a stopped erasure %d volunteers are stored (%v), want 3", len(vols), err)
	}
}
