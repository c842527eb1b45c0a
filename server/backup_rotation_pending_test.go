package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestBackupWhileAnErasuresKeyRotationIsPendingSaysSo: an erasure whose
// last step, replacing the master key, failed (the data directory made
// unwritable, a full disk) is answered key_rotation_pending, and a backup
// taken then copied the erased person's stale data keys in the file's
// free pages with the old key that opens them, and its reply said
// nothing. The backup now finishes that step first; when it cannot, the
// backup is still taken (and audited), and its reply says it still holds
// what was erased. Once the directory is mended, the next backup replaces
// the key first and comes out clean.
func TestBackupWhileAnErasuresKeyRotationIsPendingSaysSo(t *testing.T) {
	clock := &testClock{t: time.Now()}
	backups := t.TempDir()
	h := newHarnessWithClock(t, clock, server.WithBackupDir(backups))
	admin := pb.NewAdminServiceClient(h.conn)
	h.createHR(shopping(callerPhone("07700 900777")))
	// The key file cannot be replaced while its temporary name is taken,
	// as when the directory or disk refuses a new file.
	block := h.path + ".keys.tmp"
	if err := os.Mkdir(block, 0o700); err != nil {
		t.Fatal(err)
	}
	erased, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900777"})
	if err != nil || !erased.KeyRotationPending {
		t.Fatalf("erasure with the key file unwritable: %v, %v; want its key rotation pending", erased, err)
	}
	for i, step := range []struct {
		name    string
		mend    bool
		pending bool
	}{
		{name: "backup, directory still unwritable", pending: true},
		{name: "backup, directory mended", mend: true},
	} {
		clock.advance(time.Second)
		if step.mend {
			if err := os.Remove(block); err != nil {
				t.Fatal(err)
			}
		}
		keysBefore := readFile(t, h.path+".keys")
		b, err := admin.CreateBackup(h.ctx, &pb.CreateBackupRequest{})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if b.KeyRotationPending != step.pending {
			t.Errorf("%s: key rotation pending %v, want %v", step.name, b.KeyRotationPending, step.pending)
		}
		// The backup is taken either way.
		for _, name := range []string{"doorstep.db", "doorstep.db.keys"} {
			if _, err := os.Stat(filepath.Join(b.Directory, name)); err != nil {
				t.Errorf("%s: the backup's %s: %v", step.name, name, err)
			}
		}
		if rotated := !bytes.Equal(readFile(t, h.path+".keys"), keysBefore); rotated == step.pending {
			t.Errorf("%s: key file rewritten %v, yet the reply says the rotation is pending %v", step.name, rotated, step.pending)
		}
		audit, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Action: "backup"})
		if err != nil || len(audit.AuditRecords) != i+1 {
			t.Errorf("%s: the backups' audit records: %v, %v; want %d", step.name, audit.GetAuditRecords(), err, i+1)
		}
	}
}
