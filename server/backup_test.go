package server_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/internal/smalldisk"
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

// restoreBackup copies a backup's two files into a fresh data directory,
// as the README's restore does, and returns the data file's path there.
func restoreBackup(t *testing.T, backup string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doorstep.db")
	for _, name := range []string{"doorstep.db", "doorstep.db.keys"} {
		copyFile(t, filepath.Join(backup, name), filepath.Join(filepath.Dir(path), name))
	}
	return path
}

// After a restore the revisions past the backup's are taken again by new
// writes. A coordinator's app that had watched beyond the backup, and
// resumes once the restored server has got that far again, must be told
// to reload, not handed the new timeline's events as if they followed
// what it saw (it would never learn that the records it saw change went
// back). And an edit made with an etag read before the restore, of a
// record someone changed since, must be ABORTED, not taken because the
// other's change happened to land on the same revision.
func TestRestoreNeverReusesRevisions(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithBackupDir(t.TempDir()))
	hr := h.createHR(validHelpRequest())
	b, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	if err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	// After the backup: a coordinator edits the request and keeps its
	// etag; the app watches on through a few more writes.
	upd, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "before the restore", Etag: hr.Etag}})
	if err != nil {
		t.Fatal(err)
	}
	edited := upd.HelpRequest
	staleEtag, _ := strconv.ParseInt(edited.Etag, 10, 64)
	for range 3 {
		h.createHR(validHelpRequest())
	}
	seen := h.revision()
	if seen <= int64(b.Revision) {
		t.Fatalf("the app saw revision %d, not past the backup's %d: the test shows nothing", seen, b.Revision)
	}

	h.close()
	r := newHarnessAt(t, restoreBackup(t, b.Directory), nil)
	// Someone else edits the request on the restored server once it has
	// got back to the revision the stale etag names.
	for r.revision() < staleEtag-1 {
		r.createHR(validHelpRequest())
	}
	current := r.getHR(hr.Name)
	if _, err := r.hr.UpdateHelpRequest(r.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "after the restore", Etag: current.Etag}}); err != nil {
		t.Fatal(err)
	}
	_, err = r.hr.UpdateHelpRequest(r.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "stale edit", Etag: edited.Etag}})
	wantFailure(t, err, codes.Aborted, server.ReasonEtagMismatch)
	if got := r.getHR(hr.Name).Details; got != "after the restore" {
		t.Errorf("details %q, want the edit made after the restore kept", got)
	}

	for r.revision() <= seen {
		r.createHR(validHelpRequest())
	}
	w := r.watch(r.ev, &pb.WatchEventsRequest{StartRevision: seen + 1})
	// A stream that takes the resume answers at once with where it starts.
	for ended := false; !ended; {
		select {
		case <-w.done:
			ended = true
		case <-time.After(5 * time.Millisecond):
			if _, rev := w.events(); rev >= 0 {
				t.Fatalf("the app that watched past the backup resumed after revision %d, on the restored server's new revisions", rev)
			}
		}
	}
	wantFailure(t, w.err, codes.OutOfRange, server.ReasonEventsCompacted)
	oldest, _ := strconv.ParseInt(statusMeta(t, w.err, "oldest_revision"), 10, 64)
	if oldest <= seen {
		t.Errorf("oldest_revision %d: want one past what the app saw (%d), so that it reloads and watches the restored server's revisions", oldest, seen)
	}
}

// TestBackupDiskFull: the disk backups go to (--backup-dir, often its own)
// filled up. The admin must be told that it is that disk and that no
// backup was written, not that the server's disk is full and nothing can
// be saved, which sends whoever runs it to the wrong disk while the server
// goes on taking writes.
func TestBackupDiskFull(t *testing.T) {
	small := smalldisk.Mount(t, 64<<10)
	h := newHarnessWithClock(t, nil, server.WithBackupDir(small))
	for range 20 {
		h.createHR(validHelpRequest())
	}
	_, err := pb.NewAdminServiceClient(h.conn).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
	wantFailure(t, err, codes.ResourceExhausted, server.ReasonBackupDiskFull)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "--backup-dir") || strings.Contains(msg, "server's disk") {
		t.Errorf("a full backup disk reads %q: want it to name --backup-dir, not the server's disk", msg)
	}
	if entries, _ := os.ReadDir(small); len(entries) != 0 {
		t.Errorf("the failed backup left %d entries under --backup-dir", len(entries))
	}
	h.createHR(validHelpRequest()) // the server's own disk has room
}
