package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
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
