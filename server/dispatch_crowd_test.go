package server_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// heldDispatch is a store that counts dispatch runs (each starts with the
// first page of open requests) and holds the first run there until hold
// is closed.
type heldDispatch struct {
	store.Store
	runs    *atomic.Int32
	started chan struct{}
	hold    chan struct{}
}

func (d heldDispatch) ListOpenMatchingInputs(ctx context.Context, p store.Page) ([]store.MatchingInput, string, error) {
	if p.Token == "" && d.runs.Add(1) == 1 {
		close(d.started)
		<-d.hold
	}
	return d.Store.ListOpenMatchingInputs(ctx, p)
}

// crowdHarness serves a store whose first dispatch run is held; it
// returns once that run has started.
func crowdHarness(t *testing.T) (h *harness, d heldDispatch, first chan error) {
	h = newHarness(t)
	d = heldDispatch{runs: new(atomic.Int32), started: make(chan struct{}), hold: make(chan struct{})}
	h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
	h.reopen()
	h.createVol(matchVolunteer("Near Neighbour", "AB10 1AB"))
	h.createHR(shopping(callerPhone("01224 000001")))
	first = make(chan error, 1)
	go func() {
		_, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
		first <- err
	}()
	<-d.started
	return h, d, first
}

// dispatchEnds counts the Dispatch calls the server has finished.
func dispatchEnds(h *harness) int {
	n := 0
	for _, e := range h.logs.FilterMessage("call").All() {
		if e.ContextMap()["method"] == pb.MatchingService_Dispatch_FullMethodName {
			n++
		}
	}
	return n
}

// TestDispatchCallerWhoGaveUpRunsNothing: a coordinator app (or a script)
// that calls Dispatch with a short deadline while a long run is under way
// gives up; the server must drop the call too, not queue it for a whole
// run of its own (a read of every open request and a solve) that nobody
// is waiting for, ahead of the next caller who is.
func TestDispatchCallerWhoGaveUpRunsNothing(t *testing.T) {
	h, d, first := crowdHarness(t)
	const impatient = 5
	var wg sync.WaitGroup
	for range impatient {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(h.ctx, 200*time.Millisecond)
			defer cancel()
			if _, err := h.match.Dispatch(ctx, &pb.DispatchRequest{}); status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("impatient dispatch: %v, want DEADLINE_EXCEEDED", err)
			}
		})
	}
	wg.Wait()
	// The server's deadline for a call starts when the call reaches it,
	// a little after the client's: wait until it too has given up on each,
	// or one still waiting when the held run ends would rightly run.
	for deadline := time.Now().Add(20 * time.Second); dispatchEnds(h) < impatient && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(d.hold)
	if err := <-first; err != nil {
		t.Fatalf("first dispatch: %v", err)
	}
	if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
		t.Fatalf("dispatch after: %v", err)
	}
	// Every call ends sooner or later; count the runs once they have.
	for deadline := time.Now().Add(20 * time.Second); dispatchEnds(h) < impatient+2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := d.runs.Load(); got != 2 {
		t.Errorf("%d dispatch runs, want 2: the held one and the last; the %d callers who gave up ran one each", got, impatient)
	}
}

// TestDispatchCallerWhoGaveUpAsTheSlotFreesRunsNothing: a caller whose
// deadline passes just as the run ahead ends finds both the free slot and
// its end ready, and select takes either at random; the server must let
// it go all the same, not make a run nobody waits for. A call whose
// context is already done, with the slot free, is that moment: the test
// without the run's own check fails all but once in 2^20.
func TestDispatchCallerWhoGaveUpAsTheSlotFreesRunsNothing(t *testing.T) {
	h := newHarness(t)
	d := heldDispatch{runs: new(atomic.Int32), started: make(chan struct{}), hold: make(chan struct{})}
	close(d.hold)
	d.runs.Store(1) // nothing to hold
	h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
	h.reopen()
	h.createVol(matchVolunteer("Near Neighbour", "AB10 1AB"))
	h.createHR(shopping(callerPhone("01224 000001")))
	gone, cancel := context.WithCancel(h.ctx)
	cancel()
	for range 20 {
		if _, err := h.srv.Dispatch(gone, &pb.DispatchRequest{}); status.Code(err) != codes.Canceled {
			t.Fatalf("dispatch after giving up: %v, want CANCELLED", err)
		}
	}
	if got := d.runs.Load() - 1; got != 0 {
		t.Errorf("%d dispatch runs for callers who had given up, want none", got)
	}
}
