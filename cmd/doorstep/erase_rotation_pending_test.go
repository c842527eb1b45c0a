package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestEraseWhoseKeyRotationFailedSaysWhatToDo: an erasure ends by
// replacing the master key that opens the copies of erased data left in
// the data file's free pages. When the server could not (its data
// directory made unwritable, a full disk), the admin read "Erased the
// personal data of ...", exit 0, as after a complete erasure, and would
// tell the person so while a backup taken then still held them. Every
// output says the last step is still to do and what to do about it, and
// exits 1 for scripts; erasing the same number again once the server's
// directory is mended finishes it.
func TestEraseWhoseKeyRotationFailedSaysWhatToDo(t *testing.T) {
	e := newTestEnv(t)
	e.addVolunteers() // Callum Reid, 07700 900123
	e.asAdmin()
	// The key file cannot be replaced while its temporary name is taken,
	// as when the directory or disk refuses a new file.
	block := e.path + ".keys.tmp"
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	var transcript strings.Builder
	for _, step := range []struct {
		args     []string
		mend     bool
		wantCode int
	}{
		{args: []string{"admin", "erase", "--phone", "07700 900123", "--yes"}, wantCode: exitFailed},
		{args: []string{"admin", "erase", "--phone", "07700 900123", "--yes", "--json"}, wantCode: exitFailed},
		{args: []string{"admin", "erase", "--phone", "07700 900123", "--yes", "--linear"}, wantCode: exitFailed},
		{args: []string{"admin", "erase", "--phone", "07700 900123", "--yes"}, mend: true, wantCode: exitOK},
	} {
		if step.mend {
			if err := os.Remove(block); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&transcript, "# the server's directory mended\n")
		}
		keys, err := os.ReadFile(e.path + ".keys")
		if err != nil {
			t.Fatal(err)
		}
		r := e.run(step.args...)
		fmt.Fprintf(&transcript, "$ doorstep %s\nexit %d\n--- stdout\n%s--- stderr\n%s\n", strings.Join(step.args, " "), r.code, r.stdout, r.stderr)
		if r.code != step.wantCode {
			t.Errorf("doorstep %s: exit %d, want %d", strings.Join(step.args, " "), r.code, step.wantCode)
		}
		after, err := os.ReadFile(e.path + ".keys")
		if err != nil {
			t.Fatal(err)
		}
		if rotated := !bytes.Equal(keys, after); rotated != step.mend {
			t.Errorf("doorstep %s: key file rewritten %v, want %v", strings.Join(step.args, " "), rotated, step.mend)
		}
	}
	golden(t, "admin_erase_rotation_pending", transcript.String())
}

// TestEraseWhoseRecordsChangedNumberWhileARotationIsPending: the prompt
// named the caller's records, then another worker changed the number on
// them, and the erasure found nothing. With a key rotation still to do
// (an earlier erasure's, the server's directory not writable), the admin
// read only that nothing was left to erase and that an earlier erasure's
// last step had failed: as if the records had been erased before, while
// they are still held under the new number. They are told, as without
// the rotation pending, that the records the prompt named no longer hold
// the number, and where to look.
func TestEraseWhoseRecordsChangedNumberWhileARotationIsPending(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers() // Callum Reid, 07700 900123
	e.newRequest()                 // Margaret Ironside, 01224 123456
	e.asAdmin()
	block := e.path + ".keys.tmp"
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := e.run("admin", "erase", "--phone", "01224 123456", "--yes"); r.code != exitFailed {
		t.Fatalf("erasure with the key file unwritable: exit %d, %s; want its rotation pending", r.code, r.stderr)
	}
	term, code, stdout := e.atTerminal(t, []string{"admin", "erase", "--phone", "07700 900123"})
	term.expect("Type the phone number again to erase (Enter to stop): ")
	e.ok("volunteer", "edit", callum, "--phone", "07700 900777") // another worker
	term.send("07700 900123")
	select {
	case c := <-code:
		if c != exitFailed {
			t.Errorf("exit %d, want %d (the rotation still pending)", c, exitFailed)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("admin erase did not finish; terminal:\n%s", term.text())
	}
	// The refusal goes to the terminal, which is read as it comes.
	term.expect("master key")
	said := stdout.String() + term.text()
	for _, want := range []string{"no longer hold it", "doorstep admin export --phone 07700 900123", "key"} {
		if !strings.Contains(said, want) {
			t.Errorf("the erasure said %q; want it to say %q", said, want)
		}
	}
}
