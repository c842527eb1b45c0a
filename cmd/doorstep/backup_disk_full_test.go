package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/doorstep-aid/doorstep/server"
)

// TestAdminBackupDiskFull: the disk the backups go to is full. The admin
// is told that disk, and that no backup was written, not that the
// server's disk is full.
func TestAdminBackupDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", 64<<10), "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", small).Run() })
	e := newTestEnvServing(t, []server.Option{server.WithBackupDir(small)})
	e.addVolunteers()
	e.asAdmin()
	checkFailure(t, e.run("admin", "backup"), true, exitFailed,
		"The disk the server writes backups to (its --backup-dir) is full, so no backup was written; nothing else changed. "+
			"Tell whoever runs the server to free space there or give --backup-dir a larger disk (BACKUP_DISK_FULL).")
}
