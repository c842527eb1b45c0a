package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/server"
)

// TestAdminBackupWhileAnErasuresKeyRotationIsPending: an erasure whose
// last step, replacing the master key, failed (the server's data
// directory made unwritable, a full disk) says so, and that until it is
// done a backup still holds what was erased. A backup taken then printed
// "Backed up ...", exit 0, and the admin moved off the machine a copy
// that still held the person they had told was erased. The server first
// tries that step; when it cannot, the backup is taken all the same, and
// every output says it still holds what was erased and what to do, and
// exits 1 for scripts, as erase does. Once the directory is mended the
// next backup finishes the step and is clean.
func TestAdminBackupWhileAnErasuresKeyRotationIsPending(t *testing.T) {
	backups := t.TempDir()
	e := newTestEnvServing(t, []server.Option{server.WithBackupDir(backups)})
	e.addVolunteers() // Callum Reid, 07700 900123
	e.asAdmin()
	// The key file cannot be replaced while its temporary name is taken,
	// as when the directory or disk refuses a new file.
	block := e.path + ".keys.tmp"
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := e.run("admin", "erase", "--phone", "07700 900123", "--yes"); r.code != exitFailed {
		t.Fatalf("an erasure whose key rotation failed: exit %d, want %d; stderr %q", r.code, exitFailed, r.stderr)
	}
	var transcript strings.Builder
	for _, step := range []struct {
		args     []string
		mend     bool
		wantCode int
	}{
		{args: []string{"admin", "backup"}, wantCode: exitFailed},
		{args: []string{"admin", "backup", "--json"}, wantCode: exitFailed},
		{args: []string{"admin", "backup", "--linear"}, wantCode: exitFailed},
		{args: []string{"admin", "backup"}, mend: true, wantCode: exitOK},
	} {
		e.clock.advance(time.Second)
		if step.mend {
			if err := os.Remove(block); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&transcript, "# the server's directory mended\n")
		}
		r := e.run(step.args...)
		fmt.Fprintf(&transcript, "$ doorstep %s\nexit %d\n--- stdout\n%s--- stderr\n%s\n", strings.Join(step.args, " "), r.code, r.stdout, r.stderr)
		if r.code != step.wantCode {
			t.Errorf("doorstep %s: exit %d, want %d", strings.Join(step.args, " "), r.code, step.wantCode)
		}
	}
	if left, err := os.ReadDir(backups); err != nil || len(left) != 4 {
		t.Errorf("%d backups kept (%v), want 4: one is taken even when it still holds what was erased", len(left), err)
	}
	out := strings.ReplaceAll(transcript.String(), backups, "/var/backups/doorstep")
	out = regexp.MustCompile(`\(\d+(\.\d)? [KMG]B\)`).ReplaceAllString(out, "(SIZE)")
	out = regexp.MustCompile(`"size_bytes": "\d+"`).ReplaceAllString(out, `"size_bytes": "SIZE"`)
	golden(t, "admin_backup_rotation_pending", out)
}
