package server_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/internal/smalldisk"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// diskFullStore fails writes, the audit of reads among them, as the bbolt
// store does when the disk holding its file is full.
type diskFullStore struct {
	store.Store
	full bool
}

// reopenOnDiskFullStore serves h's store again behind a diskFullStore,
// which fails writes once its full is set.
func (h *harness) reopenOnDiskFullStore() *diskFullStore {
	h.t.Helper()
	d := &diskFullStore{}
	h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
	h.reopen()
	return d
}

func noSpace(what string) error {
	return fmt.Errorf("store: %s: commit: %w", what, &fs.PathError{Op: "write", Path: "/var/lib/doorstep/doorstep.db", Err: syscall.ENOSPC})
}

func (d *diskFullStore) CreateHelpRequest(ctx context.Context, hr *pb.HelpRequest, idem store.Idempotency) (*pb.HelpRequest, error) {
	if d.full {
		return nil, noSpace("create help request")
	}
	return d.Store.CreateHelpRequest(ctx, hr, idem)
}

func (d *diskFullStore) RecordAudit(ctx context.Context, recs []*pb.AuditRecord) error {
	if d.full && len(recs) > 0 {
		return noSpace("record audit")
	}
	return d.Store.RecordAudit(ctx, recs)
}

// wantDiskFull checks that err tells the caller the server's disk is full,
// as RESOURCE_EXHAUSTED (gRPC's code for a full file system) with reason
// STORAGE_FULL, and shows nothing of the server's insides.
func wantDiskFull(t *testing.T, what string, err error) {
	t.Helper()
	code, reason, _ := errorOf(t, err)
	msg := status.Convert(err).Message()
	if code != codes.ResourceExhausted || reason != server.ReasonStorageFull || !strings.Contains(msg, "disk is full") {
		t.Errorf("%s on a full disk: %v %s %q, want RESOURCE_EXHAUSTED %s saying the disk is full", what, code, reason, msg, server.ReasonStorageFull)
	}
	for _, inside := range []string{"/", "no space left on device", "store:", "commit", "bbolt", ".db"} {
		if strings.Contains(msg, inside) {
			t.Errorf("%s on a full disk: the message shows %q: %q", what, inside, msg)
		}
	}
}

// A write, or a read whose audit record cannot be written, on a full disk
// is refused as such: a caller told only "internal error" cannot tell a
// bug from a disk an operator can free, nor that nothing was saved.
func TestFullDiskIsSaidPlainly(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	d := h.reopenOnDiskFullStore()
	d.full = true

	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest()})
	wantDiskFull(t, "create", err)
	_, err = h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	wantDiskFull(t, "read", err)

	// The operator is told, at error level, what the caller is not.
	told := false
	for _, e := range h.logs.All() {
		if e.Level >= zapcore.ErrorLevel && strings.Contains(fmt.Sprint(e.ContextMap()), "no space left on device") {
			told = true
		}
	}
	if !told {
		t.Error("no error-level log line says the disk is full")
	}
}

// On a real disk that fills up: the write that does not fit is refused
// plainly, nothing of it is kept, reads that need no write go on, and once
// space is freed writes are taken again, without a restart.
func TestFullDiskOnARealFilesystem(t *testing.T) {
	dir := smalldisk.Mount(t, 4<<20)
	h := newHarnessAt(t, filepath.Join(dir, "doorstep.db"), nil)
	first := h.createHR(shopping())
	vol := h.createVol(matchVolunteer("Near", "AB10 1AB"))
	offer := h.offer(first.Name, vol.Name)
	rev := h.revision() - 1 // the offer's own events among those read

	filler := smalldisk.Fill(t, dir)
	stored := 1
	var err error
	for ; err == nil && stored < 5000; stored++ {
		_, err = h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(callerPhone(fmt.Sprintf("01224 %06d", stored)))})
	}
	stored-- // the last one failed
	wantDiskFull(t, "create", err)
	if n, _ := h.countStored(); n != stored {
		t.Errorf("%d requests stored, want %d: the refused write left something behind", n, stored)
	}
	if err := h.st.Check(); err != nil {
		t.Errorf("the file after the refused write: %v", err)
	}
	// Reads that write nothing still work.
	if _, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
		t.Errorf("lookup on a full disk: %v", err)
	}
	if _, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: offer.Name}); err != nil {
		t.Errorf("offer read on a full disk: %v", err)
	}
	watch, err := h.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{StartRevision: rev})
	if err == nil {
		_, err = watch.Recv()
	}
	if err != nil {
		t.Errorf("watching events on a full disk: %v", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	h.createHR(shopping(callerPhone("01224 999999")))
	h.getHR(first.Name)
	h.reopen()
	if n, _ := h.countStored(); n != stored+1 {
		t.Errorf("after space was freed and a restart: %d requests, want %d", n, stored+1)
	}
}
