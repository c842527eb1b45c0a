package server_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// lateBell is the store as it is between a commit and the ring of its
// bell: readers see the new revision, Changes still says the one before.
type lateBell struct {
	store.Store
	late *atomic.Bool
}

func (s lateBell) Changes() (uint64, <-chan struct{}) {
	rev, ch := s.Store.Changes()
	if s.late.Load() && rev > 0 {
		rev--
	}
	return rev, ch
}

// TestWatchResumeJustAfterACommit: the store rings its bell just after a
// commit, which readers (another stream, a Get answering with the etag)
// may see first. An app resuming one past a revision it was told of is
// not past the log, however soon it asks: it must not be told to reload.
func TestWatchResumeJustAfterACommit(t *testing.T) {
	var late atomic.Bool
	h := newHarnessWithClock(t, nil)
	h.close()
	st, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	h.wrap = func(st store.Store) store.Store { return lateBell{Store: st, late: &late} }
	h.serve(st)
	hr := h.createHR(validHelpRequest())
	seen, _ := strconv.ParseInt(hr.Etag, 10, 64)
	late.Store(true) // the commit of seen is read, its bell not yet rung
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: seen + 1})
	select {
	case <-w.done:
		t.Fatalf("a resume one past revision %d, read already: %v", seen, w.err)
	case <-time.After(200 * time.Millisecond):
	}
	late.Store(false)
	next := h.createHR(validHelpRequest())
	rev, _ := strconv.ParseInt(next.Etag, 10, 64)
	h.waitFor(w, rev)
	if evs, _ := w.events(); len(evs) == 0 || evs[0].HelpRequest != next.Name {
		t.Errorf("events %v, want the next request's", evs)
	}
}
