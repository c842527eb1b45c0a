package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// hostile is text that, printed as it is, a terminal would act on or a
// reader would misread: a link, a screen clear, a line overwritten by a
// carriage return, backspaces, a bell, NUL, C1 controls, a right-to-left
// override that reverses what follows (the phone number printed after a
// name), an isolate, zero-width characters and line separators.
var hostile = []struct{ name, text string }{
	{"link", "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"},
	{"clear screen", "\x1b[2J\x1b[H"},
	{"carriage return", "Jean Grant\rNO CALLS"},
	{"backspace", "Ann\b\b\bBob"},
	{"bell and NUL", "Ann\a\x00"},
	{"C1 CSI", "Ann\u009b31m"},
	{"right-to-left override", "Ann\u202e"},
	{"isolate", "Ann\u2067"},
	{"zero width", "A\u200bn\ufeffn\u2060"},
	{"line separator", "Ann\u2028Phone: 07700 900999"},
}

// unsafeRune is what no output of the command may hold as it is.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200b || r == 0xfeff || (r >= 0x2060 && r <= 0x2064) || r == 0x2028 || r == 0x2029:
		return true
	}
	return r == utf8.RuneError
}

// TestStoredTextShownInert stores records whose names, streets, address
// lines, details, token and organisation names hold hostile text, as a
// record stored before the server refused it would (straight in the
// store), then runs every command that shows them, plainly and with
// --json: nothing the terminal would act on reaches it, and each phone
// number is still printed whole.
func TestStoredTextShownInert(t *testing.T) {
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			e := newTestEnv(t)
			callum, _ := e.addVolunteers()
			req := e.newRequest()
			ctx := context.Background()
			storeAsIs(t, e, req, callum, func(hr *pb.HelpRequest) {
				hr.Requester.DisplayName = "Margaret " + h.text
				hr.Location.Street = "Union " + h.text
				hr.Location.AddressLines = []string{"Flat " + h.text}
				hr.Details = "Milk " + h.text
			}, func(v *pb.Volunteer) {
				v.Contact.DisplayName = "Callum " + h.text
				v.Home.Street = "Correction " + h.text
			})
			_, hash, err := server.NewSecret()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.CreateToken(ctx, &pb.Token{DisplayName: "Desk " + h.text, Role: pb.Role_ROLE_HELPLINE}, hash, false); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.CreateOrganisation(ctx, &pb.Organisation{Name: "organisations/food-bank", DisplayName: "Food Bank " + h.text}, "food-bank"); err != nil {
				t.Fatal(err)
			}

			e.ok("offer", "make", req, callum)
			cmds := [][]string{
				{"request", "show", req},
				{"request", "list", "--near", "AB10"},
				{"request", "find", "--phone", "01224 123456"},
				{"request", "candidates", req},
				{"volunteer", "show", callum},
				{"volunteer", "list", "--near", "AB10"},
				{"volunteer", "find", "--phone", "07700 900123"},
				{"offer", "list", "--volunteer", callum},
			}
			admin := [][]string{
				{"admin", "token", "list"},
				{"admin", "org", "list"},
				{"admin", "export", "--phone", "01224 123456"},
				{"admin", "export", "--phone", "07700 900123"},
			}
			check := func(args []string) {
				t.Helper()
				for _, json := range []bool{false, true} {
					a := args
					if json {
						a = append(append([]string{}, args...), "--json")
					}
					r := e.run(a...)
					if r.code != 0 {
						t.Errorf("doorstep %s: exit %d, stderr %q", strings.Join(a, " "), r.code, r.stderr)
						continue
					}
					out := r.stdout + r.stderr
					if i := strings.IndexFunc(out, unsafeRune); i >= 0 {
						t.Errorf("doorstep %s printed %q as it is, at %s", strings.Join(a, " "), []rune(out[i:])[0], around(out, i))
					}
				}
			}
			for _, c := range cmds {
				check(c)
			}
			if out := e.ok("request", "show", req); !strings.Contains(out, "01224 123456") || !strings.Contains(out, "07700 900123") {
				t.Errorf("request show lost a phone number:\n%s", out)
			}
			e.asAdmin()
			for _, c := range admin {
				check(c)
			}
		})
	}
}

// around is out near byte i, quoted, for a failure message.
func around(out string, i int) string {
	return fmt.Sprintf("%q", out[max(0, i-30):min(len(out), i+30)])
}

// TestInertWriter checks the writer on its own: what is escaped, a
// character cut between writes, bytes that are not UTF-8.
func TestInertWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"plain", []string{"Margaret Ironside, 01224 123456\n\tFlat 2\n"}, "Margaret Ironside, 01224 123456\n\tFlat 2\n"},
		{"accents and scripts", []string{"Zoë Ní Bhriain, Ολγα, محمد\n"}, "Zoë Ní Bhriain, Ολγα, محمد\n"},
		{"escape sequence", []string{"a\x1b[2Jb"}, `a\u001b[2Jb`},
		{"carriage return and backspace", []string{"a\rb\bc"}, `a\u000db\u0008c`},
		{"C1", []string{"a\u009bb"}, `a\u009bb`},
		{"override", []string{"a\u202eb\u2066c"}, `a\u202eb\u2066c`},
		{"zero width", []string{"a\u200bb\ufeff"}, `a\u200bb\ufeff`},
		{"line separator", []string{"a\u2028b"}, `a\u2028b`},
		{"cut character", []string{"caf\xc3", "\xa9 \xe2\x80", "\xae"}, `café \u202e`},
		{"not UTF-8", []string{"a\xffb"}, "a\uFFFDb"},
		{"cut at the end", []string{"a\xe2\x80"}, "a\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			w := &inertWriter{w: &b}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.flush()
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

// TestTableCellsFormFeedInert: a vertical tab or form feed in a stored
// name or street reaches the table writer before the inert writer, and
// the table writer acts on both, a vertical tab ending a column and a form
// feed a line: the rest of the name printed as a row of its own, a forged
// "Phone:" line under the caller's name. Tables show neither.
func TestTableCellsFormFeedInert(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	storeAsIs(t, e, req, callum, func(hr *pb.HelpRequest) {
		hr.Requester.DisplayName = "Margaret\fPhone: 07700 900999"
		hr.Location.Street = "Union\vForged"
	}, func(v *pb.Volunteer) { v.Contact.DisplayName = "Callum\fPhone: 07700 900999" })
	for _, args := range [][]string{
		{"request", "list", "--near", "AB10"},
		{"request", "find", "--phone", "01224 123456"},
		{"volunteer", "list", "--near", "AB10"},
		{"volunteer", "find", "--phone", "07700 900123"},
	} {
		out := e.ok(args...)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "Phone:") {
				t.Errorf("doorstep %s printed a name's rest as a line of its own:\n%s", strings.Join(args, " "), out)
			}
		}
		if strings.ContainsAny(out, "\f\v") {
			t.Errorf("doorstep %s printed a form feed or vertical tab: %q", strings.Join(args, " "), out)
		}
	}
}

// storeAsIs edits request req and volunteer vol straight in the store, as
// records stored before the server refused such text would be.
func storeAsIs(t *testing.T, e *testEnv, req, vol string, editReq func(*pb.HelpRequest), editVol func(*pb.Volunteer)) {
	t.Helper()
	ctx := context.Background()
	hr, err := e.st.GetHelpRequest(ctx, idOf(req))
	if err != nil {
		t.Fatal(err)
	}
	editReq(hr)
	if _, err := e.st.UpdateHelpRequest(ctx, hr); err != nil {
		t.Fatal(err)
	}
	v, err := e.st.GetVolunteer(ctx, idOf(vol))
	if err != nil {
		t.Fatal(err)
	}
	editVol(v)
	if _, err := e.st.UpdateVolunteer(ctx, v); err != nil {
		t.Fatal(err)
	}
}
