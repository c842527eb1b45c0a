package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// terminal is the far side of a pseudo-terminal: what a helpline worker
// sees and types.
type terminal struct {
	t    *testing.T
	ptmx *os.File
	mu   sync.Mutex
	seen bytes.Buffer
	pos  int // how far expect has read
	done chan struct{}
}

// atTerminal runs doorstep with args at a new terminal, as a helpline
// worker would, and returns the terminal, the exit code to come, and what
// the command prints to stdout. The command is stopped when the test ends,
// so that a failed test leaves none waiting at a prompt.
func (e *testEnv) atTerminal(t *testing.T, args []string) (*terminal, <-chan int, *bytes.Buffer) {
	t.Helper()
	term, tty := newTerminal(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stdout := new(bytes.Buffer)
	code := make(chan int, 1)
	go func() {
		code <- runAt(ctx, args, e.getenv, tty, stdout, tty, e.clock.now)
	}()
	return term, code, stdout
}

func newTerminal(t *testing.T) (*terminal, *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	term := &terminal{t: t, ptmx: ptmx, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = tty.Close()
		_ = ptmx.Close()
		// A read of a terminal is not always woken by Close; the reader
		// only appends to a buffer nobody reads any more, so let it go.
		select {
		case <-term.done:
		case <-time.After(2 * time.Second):
		}
	})
	return term, tty
}

// expect waits until want appears after what was matched before.
func (term *terminal) expect(want string) {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		term.mu.Lock()
		rest := term.seen.String()[term.pos:]
		if i := strings.Index(rest, want); i >= 0 {
			term.pos += i + len(want)
			term.mu.Unlock()
			return
		}
		term.mu.Unlock()
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q; after the last match it shows:\n%s", want, rest)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

func (term *terminal) send(line string) {
	term.t.Helper()
	if _, err := io.WriteString(term.ptmx, line+"\n"); err != nil {
		term.t.Fatal(err)
	}
}

// TestRequestNewAtTheTerminal takes a call the way a helpline worker
// would: a wrong postcode, an unreadable time and a bad phone number are
// each re-asked with the reason, a field is changed at the read-back, and
// the request stored is the one agreed.
func TestRequestNewAtTheTerminal(t *testing.T) {
	e := newTestEnv(t)
	term, code, stdout := e.atTerminal(t, []string{"request", "new"})

	term.expect("Postcode: ")
	term.send("AB99 9ZZ")
	term.expect("AB99 9ZZ is not in the postcode directory")
	term.expect("Postcode: ")
	term.send("ab10 1ab")
	term.expect("Street (Enter to skip): ")
	term.send("union st")
	term.expect("put a semicolon between lines; Enter to skip): ")
	term.send("Flat 2; 12 Union Street")
	term.expect("9 other")
	term.expect("Needs (numbers or names, e.g. 1 2): ")
	term.send("1 2")
	term.expect("When (")
	term.send("sometime soon")
	term.expect("Cannot read")
	term.expect("When (")
	term.send("tomorrow 10-12")
	term.expect("Urgency: ")
	term.send("")
	term.expect("Details for the volunteer (Enter to skip): ")
	term.send("Milk and bread")
	term.expect("go inside the home? Yes or no (Enter for no): ")
	term.send("")
	term.expect("Skills the volunteer must have")
	term.send("")
	term.expect("Circumstances: ")
	term.send("1")
	term.expect("Caller's name (what they like to be called): ")
	term.send("Margaret")
	term.expect("Caller's phone number: ")
	term.send("12345")
	term.expect("is not a phone number")
	term.expect("Caller's phone number: ")
	term.send("01224 123456")
	term.expect("Organisation (e.g. aberdeen-mutual-aid): ")
	term.send("aberdeen-mutual-aid")
	term.expect("Please check with the caller:")
	term.expect("when           Wed 11 Mar 10:00-12:00")
	term.expect("Save this request? ")
	// The caller gives a better number at the read-back.
	term.send("phone")
	term.expect("Caller's phone number: ")
	term.send("07700 900123")
	term.expect("phone          07700 900123")
	term.expect("Save this request? ")
	term.send("y")

	term.finished(t, code, "request new")
	if !strings.HasPrefix(stdout.String(), "Saved helpRequests/") {
		t.Errorf("stdout = %q", stdout.String())
	}

	got := e.storedRequests(store.HelpRequestFilter{Phone: "+447700900123"})
	if len(got) != 1 {
		t.Fatalf("stored %d requests from 07700 900123, want 1", len(got))
	}
	hr := got[0]
	wantStart := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)
	if hr.Location.Postcode != "AB10 1AB" || hr.Location.Street != "Union Street" ||
		strings.Join(hr.Location.AddressLines, "|") != "Flat 2|12 Union Street" ||
		len(hr.Needs) != 2 || hr.Needs[0] != pb.Need_NEED_GROCERY_SHOPPING || hr.Needs[1] != pb.Need_NEED_PRESCRIPTION_COLLECTION ||
		!hr.GetWindow().GetStartTime().AsTime().Equal(wantStart) || !hr.GetWindow().GetEndTime().AsTime().Equal(wantStart.Add(2*time.Hour)) ||
		hr.Urgency != pb.Urgency_URGENCY_NORMAL || hr.Details != "Milk and bread" || !hr.GetVulnerability().GetLivesAlone() ||
		hr.Requester.DisplayName != "Margaret" || hr.Organisation != org || hr.EntersHome {
		t.Errorf("stored request = %v", hr)
	}
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 1 {
		t.Errorf("%d requests stored, want 1", n)
	}
}

// TestRequestNewAtTheTerminalStopsOnEOF: Ctrl-D at a prompt saves nothing.
func TestRequestNewAtTheTerminalStopsOnEOF(t *testing.T) {
	e := newTestEnv(t)
	term, code, _ := e.atTerminal(t, []string{"request", "new", "--org", org})
	term.expect("Postcode: ")
	term.send("AB10 1AB")
	term.expect("Street (Enter to skip): ")
	if _, err := term.ptmx.Write([]byte{4}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != exitUsage {
			t.Errorf("exit %d, want %d", c, exitUsage)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("request new did not stop at end of input")
	}
	term.expect("Stopped: nothing was saved.")
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 0 {
		t.Errorf("%d requests stored, want none", n)
	}
}

// TestRequestNewInterruptedAtPrompt: Ctrl-C at a prompt stops at once,
// without waiting for Enter, and saves nothing.
func TestRequestNewInterruptedAtPrompt(t *testing.T) {
	e := newTestEnv(t)
	term, tty := newTerminal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- runAt(ctx, []string{"request", "new"}, e.getenv, tty, &stdout, tty, e.clock.now)
	}()
	term.expect("Postcode: ")
	cancel() // what the SIGINT handler in main does
	select {
	case c := <-code:
		if c != exitInterrupted {
			t.Errorf("exit %d, want %d", c, exitInterrupted)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("request new did not stop when interrupted")
	}
	term.expect("Interrupted.")
	// The line the abandoned read is waiting for lets it finish, as the
	// process exiting would, so that the terminal can be closed.
	term.send("")
	if n := len(e.storedRequests(store.HelpRequestFilter{})); n != 0 {
		t.Errorf("%d requests stored, want none", n)
	}
}

// TestRequestNewAsksFromAnywhereOnlyForACall: a call and the shopping were
// asked "Can it be done by phone, from anywhere? [Y/n]", and Enter lifted
// the distance limit for the shopping too. Only a call alone is asked; and
// help from anywhere does not go inside the home, so that is not asked.
func TestRequestNewAsksFromAnywhereOnlyForACall(t *testing.T) {
	for _, tt := range []struct {
		needs      string
		askRemote  bool
		wantRemote bool
	}{
		{"befriending shopping", false, false},
		{"befriending", true, true},
	} {
		t.Run(tt.needs, func(t *testing.T) {
			e := newTestEnv(t)
			term, code, _ := e.atTerminal(t, []string{"request", "new", "--postcode", "AB10 1AB", "--street", "", "--address", "",
				"--when", "tomorrow 10-12", "--urgency", "normal", "--details", "", "--name", "Margaret", "--phone", "01224 123456",
				"--org", org})
			term.expect("Needs (numbers or names, e.g. 1 2): ")
			term.send(tt.needs)
			if tt.askRemote {
				term.expect("Can it be done by phone, from anywhere? Yes or no (Enter for yes): ")
				term.send("")
			} else {
				term.expect("go inside the home? Yes or no (Enter for no): ")
				term.send("")
			}
			term.expect("Skills the volunteer must have")
			term.send("")
			term.expect("Circumstances: ")
			term.send("")
			term.expect("Save this request? ")
			term.send("y")
			term.finished(t, code, "request new")
			got := e.storedRequests(store.HelpRequestFilter{})
			if len(got) != 1 || got[0].RemoteOk != tt.wantRemote || got[0].EntersHome {
				t.Fatalf("stored %v", got)
			}
			if text := term.text(); strings.Contains(text, "from anywhere?") != tt.askRemote || strings.Contains(text, "inside the home?") == tt.askRemote {
				t.Errorf("questions asked:\n%s", text)
			}
		})
	}
}

// TestRequestNewWithEntersHomeDoesNotAskFromAnywhere: a befriending visit
// taken with --enters-home was still asked "Can it be done by phone, from
// anywhere? [Y/n]", whose default the server refuses with enters_home, so
// that Enter ended at the read-back with 'from anywhere' refused. Someone
// going inside is not help from afar: the question is not asked.
func TestRequestNewWithEntersHomeDoesNotAskFromAnywhere(t *testing.T) {
	e := newTestEnv(t)
	term, code, _ := e.atTerminal(t, []string{"request", "new", "--postcode", "AB10 1AB", "--street", "", "--address", "",
		"--when", "tomorrow 10-12", "--urgency", "normal", "--details", "", "--name", "Margaret", "--phone", "01224 123456",
		"--org", org, "--enters-home"})
	term.expect("Needs (numbers or names, e.g. 1 2): ")
	term.send("befriending")
	term.expect("Skills the volunteer must have")
	term.send("")
	term.expect("Circumstances: ")
	term.send("")
	term.expect("Save this request? ")
	term.send("y")
	term.finished(t, code, "request new")
	got := e.storedRequests(store.HelpRequestFilter{})
	if len(got) != 1 || got[0].RemoteOk || !got[0].EntersHome {
		t.Fatalf("stored %v", got)
	}
	if text := term.text(); strings.Contains(text, "from anywhere?") {
		t.Errorf("asked from anywhere for a visit inside the home:\n%s", text)
	}
}

// finished waits for the command run on term to end, and fails the test
// unless it ended well.
func (term *terminal) finished(t *testing.T, code <-chan int, what string) {
	t.Helper()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; terminal:\n%s", c, term.text())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not finish; terminal:\n%s", what, term.text())
	}
}
