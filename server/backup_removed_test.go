package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// backupHeldStore holds a backup, once copied, until its caller has gone,
// as a SIGTERM's shutdown timeout (or a Ctrl-C at doorstep admin backup)
// ends the call just after a large file's copy is done.
type backupHeldStore struct {
	store.Store
	copied chan string
}

func (b *backupHeldStore) Backup(ctx context.Context, dir string) (store.BackupInfo, error) {
	info, err := b.Store.Backup(ctx, dir)
	b.copied <- info.Dir
	<-ctx.Done()
	return info, err
}

// TestBackupNotSilentlyRemoved: an operator asked for a backup and then
// restarted doorstepd (a deploy, at 2am). The log said "store backed up"
// and named its directory, the last word about it, and the directory was
// not there: the copy was whole, but its audit record was written with the
// call's context, which the stop had ended, so the server removed it and
// said nothing. A copy already made is put on record whether or not its
// caller is still there to hear of it, and is kept; one removed for want
// of its audit record (a full disk) is said to be removed, with its
// directory, at warning level.
func TestBackupNotSilentlyRemoved(t *testing.T) {
	t.Run("caller gone after the copy", func(t *testing.T) {
		backups := t.TempDir()
		h := newHarnessWithClock(t, nil, server.WithBackupDir(backups))
		b := &backupHeldStore{copied: make(chan string, 1)}
		h.wrap = func(st store.Store) store.Store { b.Store = st; return b }
		h.reopen()
		ctx, cancel := context.WithCancel(h.ctx)
		done := make(chan error, 1)
		go func() {
			_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(ctx, &pb.CreateBackupRequest{})
			done <- err
		}()
		dir := <-b.copied
		cancel()
		<-done
		h.waitCallEnded("/doorstep.v1.AdminService/CreateBackup")
		if _, err := os.Stat(filepath.Join(dir, "doorstep.db")); err != nil {
			t.Errorf("a backup whose copy was whole was removed when its caller went: %v", err)
		}
		resp, err := pb.NewAdminServiceClient(h.conn).ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Action: "backup"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.AuditRecords) != 1 {
			t.Errorf("%d backup records on the audit trail, want 1: %v", len(resp.AuditRecords), resp.AuditRecords)
		}
	})
	t.Run("audit record cannot be written", func(t *testing.T) {
		backups := t.TempDir()
		h := newHarnessWithClock(t, nil, server.WithBackupDir(backups))
		d := h.reopenOnDiskFullStore()
		d.full = true
		_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
		wantDiskFull(t, "backup", err)
		said := false
		var lines []string
		for _, e := range h.logs.All() {
			line := e.Message + " " + fmt.Sprint(e.ContextMap())
			lines = append(lines, line)
			if e.Level >= zapcore.WarnLevel && strings.Contains(line, "removed") && strings.Contains(line, backups) {
				said = true
			}
		}
		if !said {
			t.Errorf("a backup removed for want of its audit record: no warning says so, naming its directory:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// waitCallEnded waits for the server to log the end of a call of method,
// which a caller that cancelled does not wait for.
func (h *harness) waitCallEnded(method string) {
	h.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, e := range h.logs.FilterMessage("call").All() {
			if e.ContextMap()["method"] == method {
				return
			}
		}
	}
	h.t.Fatalf("the server never ended its %s call", method)
}
