package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// An admin backs up a running server, and the backup is put back on a
// fresh machine after more work was done: it serves what it held, a
// partner's retried import stores again the row the backup lacks and not
// the one it has, and the offer it held open lapses at the restored
// server's first sweep.
func TestCreateBackupAndRestore(t *testing.T) {
	clock := &testClock{t: time.Now()}
	backups := t.TempDir()
	h := newHarnessWithClock(t, clock, server.WithBackupDir(backups))
	admin := pb.NewAdminServiceClient(h.conn)
	if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/aberdeen-mutual-aid", DisplayName: "Aberdeen Mutual Aid"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "partner", Role: pb.Role_ROLE_PARTNER, Organisation: "aberdeen-mutual-aid"}})
	if err != nil {
		t.Fatal(err)
	}
	partner := pb.NewHelpRequestServiceClient(h.as(tok.Secret))
	// A partner's retry sends the same rows under the same ids.
	rows := map[string]*pb.HelpRequest{}
	create := func(c pb.HelpRequestServiceClient, requestID string) *pb.HelpRequest {
		t.Helper()
		if rows[requestID] == nil {
			rows[requestID] = validHelpRequest()
		}
		hr, err := c.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: rows[requestID], RequestId: requestID})
		if err != nil {
			t.Fatalf("create %s: %v", requestID, err)
		}
		return hr.GetHelpRequest()
	}
	before := create(partner, "0b1c2d3e-0000-4000-8000-000000000001")
	vol := h.createVol(matchVolunteer("Near", "AB10 1AB", func(v *pb.Volunteer) { v.Skills = []string{"Welsh"} }))
	h.offer(before.Name, vol.Name)

	b, err := admin.CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	if err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	if !strings.HasPrefix(b.Directory, backups+string(os.PathSeparator)) || b.Revision == 0 || b.SizeBytes == 0 {
		t.Errorf("backup %v: not under %s, or empty", b, backups)
	}
	audit, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Action: "backup"})
	if err != nil || len(audit.AuditRecords) != 1 {
		t.Errorf("the backup's audit records: %v, %v", audit.GetAuditRecords(), err)
	}
	after := create(partner, "0b1c2d3e-0000-4000-8000-000000000002")

	// The fresh machine: both files copied into a new data directory.
	path := filepath.Join(t.TempDir(), "doorstep.db")
	for _, name := range []string{"doorstep.db", "doorstep.db.keys"} {
		raw, err := os.ReadFile(filepath.Join(b.Directory, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clock.advance(time.Hour) // past the offer's lease
	r := newHarnessAt(t, path, clock)
	got := r.getHR(before.Name)
	if got.GetRequester().GetPhone() != before.GetRequester().GetPhone() {
		t.Errorf("restored request's requester: %v", got.GetRequester())
	}
	if _, err := r.hr.GetHelpRequest(r.ctx, &pb.GetHelpRequestRequest{Name: after.Name}); codeOf(err) != codes.NotFound {
		t.Errorf("request made after the backup, in the restored server: %v", err)
	}
	r.srv.Sweep(r.ctx)
	if st := r.getHR(before.Name).GetState(); st != pb.HelpRequest_STATE_OPEN {
		t.Errorf("after the first sweep the request offered at the backup is %v, want OPEN (its lease is over)", st)
	}
	// The partner's token is in the backup; its retries of both rows
	// find the first and store the second again.
	partner = pb.NewHelpRequestServiceClient(r.as(tok.Secret))
	if again := create(partner, "0b1c2d3e-0000-4000-8000-000000000001"); again.Name != before.Name {
		t.Errorf("the retry of a row the backup holds stored %s, want %s", again.Name, before.Name)
	}
	create(partner, "0b1c2d3e-0000-4000-8000-000000000002")
	if n, _ := r.countStored(); n != 2 {
		t.Errorf("after the retries the restored server holds %d requests, want 2", n)
	}
}

func TestCreateBackupRefused(t *testing.T) {
	h := newHarness(t)
	_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonBackupDirUnset)

	h = newHarnessWithClock(t, nil, server.WithBackupDir(t.TempDir()))
	coordinator := h.as(h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_COORDINATOR}))
	_, err = pb.NewAdminServiceClient(coordinator).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	if codeOf(err) != codes.PermissionDenied {
		t.Errorf("a coordinator's backup: %v, want PERMISSION_DENIED", err)
	}
}
