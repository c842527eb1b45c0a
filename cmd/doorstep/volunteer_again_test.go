package main

import (
	"context"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// TestVolunteerAddFindsTheVolunteerAlreadyRegistered: Callum, registered
// already, rings the helpline to sign up. Added again, he would be two
// volunteers to the matcher, each offered a job of its own at one time,
// and he cannot be at two doors at once: the add is refused, naming his
// record. Someone else on his number (a household with one phone) is
// added with --shared-phone; another organisation's volunteer on it is
// no bar.
func TestVolunteerAddFindsTheVolunteerAlreadyRegistered(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	again := []string{"volunteer", "add", "--name", "Callum", "--phone", "+44 7700 900123", "--postcode", "AB10 1AF", "--available", "sat 9-12", "--org", org}
	checkFailure(t, e.run(again...), true, exitFailed,
		"Not registered: Callum Reid is registered already with the number 07700 900123, as "+idOf(callum)+
			": to change their details, doorstep volunteer edit "+idOf(callum)+"; to register someone else who shares that phone, add --shared-phone.")
	count := func() int {
		got, _, err := e.st.ListVolunteers(context.Background(), store.VolunteerFilter{Phone: "+447700900123"}, store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d volunteers on Callum's number after the refused add, want 1", n)
	}
	e.ok(append(again, "--name", "Isla Reid", "--shared-phone")...)
	e.ok("volunteer", "add", "--name", "Callum Reid", "--phone", "07700 900123", "--postcode", "AB10 1AF", "--available", "sat 9-12", "--org", "granite-city-foodbank")
	if n := count(); n != 3 {
		t.Errorf("%d volunteers on Callum's number, want 3 (his, Isla's, and his with another organisation)", n)
	}
}

// TestVolunteerEditPhoneFindsTheVolunteerAlreadyRegistered: Aileen rings
// with a new number, and it is one registered already (Callum's, mistyped,
// or her own second record's). Taken silently, the two records would share
// one number: two volunteers to the matcher for one person, and an erasure
// or export by that number would reach both. The edit is refused, naming
// the record that has it, as volunteer add refuses it; --shared-phone
// takes it for a household with one phone, and Aileen's own number again
// is no bar.
func TestVolunteerEditPhoneFindsTheVolunteerAlreadyRegistered(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	checkFailure(t, e.run("volunteer", "edit", aileen, "--phone", "07700 900123"), true, exitFailed,
		"Not changed: Callum Reid is registered already with the number 07700 900123, as "+idOf(callum)+
			": to change their details, doorstep volunteer edit "+idOf(callum)+"; if Aileen Watt shares that phone, add --shared-phone.")
	count := func(phone string) int {
		got, _, err := e.st.ListVolunteers(context.Background(), store.VolunteerFilter{Phone: phone}, store.Page{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	if n := count("+447700900123"); n != 1 {
		t.Fatalf("%d volunteers on Callum's number after the refused edit, want 1", n)
	}
	e.ok("volunteer", "edit", aileen, "--phone", "07700 900456", "--name", "Aileen W")
	e.ok("volunteer", "edit", aileen, "--phone", "07700 900123", "--shared-phone")
	if n := count("+447700900123"); n != 2 {
		t.Errorf("%d volunteers on Callum's number after --shared-phone, want 2", n)
	}
}

// TestVolunteerEditsTheirOwnPhone: with their own token, Aileen changes
// her number, as the server lets a volunteer do. The check for a number
// registered already lists volunteers, which a volunteer token may not:
// her edit was refused as a matter of permission.
func TestVolunteerEditsTheirOwnPhone(t *testing.T) {
	e := newTestEnv(t)
	_, aileen := e.addVolunteers()
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken(aileen)
	e.ok("volunteer", "edit", aileen, "--phone", "07700 900789")
	got, err := e.st.GetVolunteer(context.Background(), idOf(aileen))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetContact().GetPhone() != "+447700900789" {
		t.Errorf("phone %q after Aileen's edit, want +447700900789", got.GetContact().GetPhone())
	}
}
