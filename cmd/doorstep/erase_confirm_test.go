package main

import (
	"strings"
	"testing"
	"time"
)

// TestEraseConfirmSaysWhom: an erasure cannot be undone, and the number
// typed again at its prompt is typed from the same note as the first: a
// wrong digit there is typed twice. So, before asking, the prompt says
// whom the number's records name and how many there are, or that none
// holds it, for the admin to check against the person who asked.
func TestEraseConfirmSaysWhom(t *testing.T) {
	e := newTestEnv(t)
	e.newRequest() // Margaret Ironside, 01224 123456
	e.newRequest("--when", "fri 2pm-4pm")
	e.asAdmin()

	for _, tc := range []struct {
		phone string
		want  []string
	}{
		{"01224 123456", []string{"2 requests", "Margaret Ironside"}},
		{"01224 123465", []string{"No request or volunteer record holds 01224 123465"}},
	} {
		t.Run(tc.phone, func(t *testing.T) {
			term, code, _ := e.atTerminal(t, []string{"admin", "erase", "--phone", tc.phone})
			term.expect("Type the phone number again to erase (Enter to stop): ")
			shown := term.text()
			for _, w := range tc.want {
				if !strings.Contains(shown, w) {
					t.Errorf("before asking, the prompt does not say %q:\n%s", w, shown)
				}
			}
			term.send("")
			select {
			case c := <-code:
				if c != exitUsage {
					t.Errorf("Enter alone: exit %d", c)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("admin erase did not finish")
			}
		})
	}
	if got := e.ok("request", "find", "--phone", "01224 123456"); !strings.Contains(got, "Margaret Ironside") {
		t.Errorf("after stopped erasures, the caller's requests are not there:\n%s", got)
	}
}

// TestEraseConfirmSaysWhomUnderEitherForm: an erasure by a number from
// abroad takes the records stored with a zero after its country code
// (older versions kept "+353 (0)87 ..."'s, "+353 087 ..." keeps it) as
// the same number's. The prompt said no record held the number, told the
// admin to check it with the person, and the erasure then took them.
func TestEraseConfirmSaysWhomUnderEitherForm(t *testing.T) {
	e := newTestEnv(t)
	e.newRequest("--phone", "+353 087 123 4567") // Margaret Ironside
	e.asAdmin()

	term, code, _ := e.atTerminal(t, []string{"admin", "erase", "--phone", "+353 (0)87 123 4567"})
	term.expect("Type the phone number again to erase (Enter to stop): ")
	shown := term.text()
	for _, w := range []string{"1 request", "Margaret Ironside"} {
		if !strings.Contains(shown, w) {
			t.Errorf("before asking, the prompt does not say %q:\n%s", w, shown)
		}
	}
	term.send("")
	select {
	case <-code:
	case <-time.After(15 * time.Second):
		t.Fatal("admin erase did not finish")
	}
}
