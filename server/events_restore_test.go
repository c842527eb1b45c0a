package server_test

import (
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWatchResumeAfterRestoreFromBackup: after the data file is restored
// from a backup (with its key file, as the README asks), an app resuming
// from the revision it had reached is past the server's log, whose
// revisions will now be reused for other changes: it is told to reload
// (OUT_OF_RANGE, REVISION_AHEAD), never left waiting for revisions whose
// changes it would miss. One past the log, a plain resume, still waits.
func TestWatchResumeAfterRestoreFromBackup(t *testing.T) {
	h := newHarness(t)
	h.createHR(validHelpRequest())
	h.close()
	for _, f := range []string{h.path, h.path + ".keys"} {
		copyFile(t, f, f+".bak")
	}
	st, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	h.serve(st)
	for range 3 {
		h.createHR(validHelpRequest())
	}
	seen := h.revision() // the app has handled everything up to here

	h.close()
	for _, f := range []string{h.path, h.path + ".keys"} {
		copyFile(t, f+".bak", f)
	}
	if st, err = h.open(); err != nil {
		t.Fatal(err)
	}
	h.serve(st)
	now := h.revision()
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: seen + 1})
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream resumed past the restored log is still open")
	}
	wantFailure(t, w.err, codes.OutOfRange, server.ReasonRevisionAhead)
	if cur, oldest := statusMeta(t, w.err, "current_revision"), statusMeta(t, w.err, "oldest_revision"); cur != strconv.FormatInt(now, 10) || oldest == "" {
		t.Errorf("metadata current_revision %q, oldest_revision %q: want %d and the log's start", cur, oldest, now)
	}

	// A resume one past the log is an app that saw everything: it waits.
	w = h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: now + 1})
	hr := h.createHR(validHelpRequest())
	rev, _ := strconv.ParseInt(hr.Etag, 10, 64)
	h.waitFor(w, rev)
	if evs, _ := w.events(); len(evs) == 0 || evs[0].HelpRequest != hr.Name {
		t.Errorf("events %v, want the new request's", evs)
	}
}
