package server_test

import (
	"os"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// A backup holds everyone's personal data and the key that opens it: one
// whose audit record cannot be written (the data disk full, while the
// backups go to another) was left under --backup-dir, taken by nobody on
// record, while the admin was told it failed. It is removed, as a read
// whose audit cannot be written is not answered.
func TestBackupWhoseAuditFailsIsRemoved(t *testing.T) {
	backups := t.TempDir()
	h := newHarnessWithClock(t, nil, server.WithBackupDir(backups))
	d := h.reopenOnDiskFullStore()
	h.createHR(validHelpRequest())
	d.full = true

	_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	wantDiskFull(t, "backup", err)
	left, err := os.ReadDir(backups)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("a backup refused for want of its audit record left %s under --backup-dir", e.Name())
	}
}
