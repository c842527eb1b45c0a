package server_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestMetricsLastBackupKeptOverRestart: doorstep_last_backup_timestamp_seconds
// read 0 after every restart, so the usual alert (time() less it over a
// day) fired after each deploy until the next backup, and an operator
// learnt to ignore it. After a restart it holds the time of the last
// backup on the audit log; a backup that failed, or was removed because
// its audit record could not be written, does not count.
func TestMetricsLastBackupKeptOverRestart(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 123_456_789, time.UTC)}
	backups := t.TempDir()
	h := newMetered(t, clock, server.WithBackupDir(backups))
	d := &diskFullStore{}
	h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
	lastBackup := func(what string, want time.Time) {
		t.Helper()
		got := samples(t, h.scrape())["doorstep_last_backup_timestamp_seconds"]
		w := 0.0
		if !want.IsZero() {
			w = float64(want.UnixNano()) / 1e9
		}
		if got != w {
			t.Errorf("%s: doorstep_last_backup_timestamp_seconds = %v, want %v (%v)", what, got, w, want)
		}
	}
	admin := func() pb.AdminServiceClient { return pb.NewAdminServiceClient(h.conn) }

	h.restart(server.WithBackupDir(backups))
	lastBackup("a restart with no backup ever taken", time.Time{})

	clock.advance(time.Hour)
	made := clock.now()
	resp, err := admin().CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.CreateTime.AsTime().Equal(made) {
		t.Fatalf("backup made at %v, want %v", resp.CreateTime.AsTime(), made)
	}
	lastBackup("the backup just made", made)

	// Failed: the directory it would write is there already.
	clock.advance(time.Hour)
	taken := filepath.Join(backups, "doorstep-"+clock.now().UTC().Format("20060102T150405.000Z"))
	if err := os.Mkdir(taken, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := admin().CreateBackup(h.ctx, &pb.CreateBackupRequest{}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("backup into a directory already there: %v, want AlreadyExists", err)
	}
	// Removed: copied whole, but its audit record not written.
	clock.advance(time.Hour)
	d.full = true
	_, err = admin().CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	wantDiskFull(t, "backup", err)
	d.full = false
	lastBackup("after a failed backup and a removed one", made)

	clock.advance(time.Hour)
	h.restart(server.WithBackupDir(backups))
	lastBackup("a restart after them", made)
	h.restart(server.WithBackupDir(backups))
	lastBackup("a second restart", made)

	// Of two backups on the log, the later.
	clock.advance(time.Hour)
	later := clock.now()
	if _, err := admin().CreateBackup(h.ctx, &pb.CreateBackupRequest{}); err != nil {
		t.Fatal(err)
	}
	h.restart(server.WithBackupDir(backups))
	lastBackup("a restart after a second backup", later)
}
