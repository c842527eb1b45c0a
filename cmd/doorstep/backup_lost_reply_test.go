package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestAdminBackupWhoseReplyWasLost: the operator ran doorstep admin
// backup and the server was restarted (or the connection dropped) as it
// answered. The backup was written and kept, holding everyone's personal
// data under --backup-dir, but the command said only that the server
// could not be reached, so nobody went to move it off the machine. It
// says the backup may have been written, and where to look.
func TestAdminBackupWhoseReplyWasLost(t *testing.T) {
	backups := t.TempDir()
	lost := &lostReplies{lose: map[string]int{pb.AdminService_CreateBackup_FullMethodName: 1}}
	e := newTestEnvServing(t, []server.Option{server.WithBackupDir(backups)}, lost.option())
	e.asAdmin()
	r := e.run("admin", "backup")
	if left, _ := os.ReadDir(backups); len(left) != 1 {
		t.Fatalf("%d backups written, want 1", len(left))
	} else if _, err := os.Stat(filepath.Join(backups, left[0].Name(), "doorstep.db")); err != nil {
		t.Fatal(err)
	}
	checkFailure(t, r, true, exitUnreachable, "*")
	for _, want := range []string{"may have been written", "doorstep admin audit --action backup", "--backup-dir"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("a backup whose answer was lost: the command does not say %q: %q", want, r.stderr)
		}
	}
}
