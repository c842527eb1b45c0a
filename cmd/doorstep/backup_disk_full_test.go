package main

import (
	"testing"

	"github.com/doorstep-aid/doorstep/internal/smalldisk"
	"github.com/doorstep-aid/doorstep/server"
)

// TestAdminBackupDiskFull: the disk the backups go to is full. The admin
// is told that disk, and that no backup was written, not that the
// server's disk is full.
func TestAdminBackupDiskFull(t *testing.T) {
	small := smalldisk.Mount(t, 64<<10)
	e := newTestEnvServing(t, []server.Option{server.WithBackupDir(small)})
	e.addVolunteers()
	e.asAdmin()
	checkFailure(t, e.run("admin", "backup"), true, exitFailed,
		"The disk the server writes backups to (its --backup-dir) is full, so no backup was written; nothing else changed. "+
			"Tell whoever runs the server to free space there or give --backup-dir a larger disk (BACKUP_DISK_FULL).")
}
