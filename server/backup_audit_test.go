package server_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
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

// backupRemovals records the backups the server has the store remove.
type backupRemovals struct {
	store.Store
	mu      sync.Mutex
	removed []string
}

func (b *backupRemovals) RemoveBackup(dir string) error {
	b.mu.Lock()
	b.removed = append(b.removed, dir)
	b.mu.Unlock()
	return b.Store.RemoveBackup(dir)
}

// TestBackupWhoseAuditFailsRemovedOnDisk: the backup removed for want of
// its audit record was removed with os.RemoveAll, and the removal synced by
// nobody: a power cut soon after could bring it back under --backup-dir,
// everyone's data and its key, taken by no one on record. The store
// removes it (RemoveBackup), which syncs the directory above it.
func TestBackupWhoseAuditFailsRemovedOnDisk(t *testing.T) {
	backups := t.TempDir()
	h := newHarnessWithClock(t, nil, server.WithBackupDir(backups))
	d := &diskFullStore{}
	r := &backupRemovals{Store: d}
	h.wrap = func(st store.Store) store.Store { d.Store = st; return r }
	h.reopen()
	d.full = true

	_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	wantDiskFull(t, "backup", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.removed) != 1 || filepath.Dir(r.removed[0]) != backups {
		t.Errorf("backups the store removed: %q, want the one refused, under %s", r.removed, backups)
	}
}
