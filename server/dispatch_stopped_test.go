package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// stopsAfterFirstOffers is a store whose second write of a dispatch run's
// offers comes after the run was stopped: stop cancels the call, as the
// server's stop cancels it at --shutdown-timeout (or the interval's run at
// the first signal), and the write is refused for it.
type stopsAfterFirstOffers struct {
	store.Store
	calls atomic.Int32
	stop  func()
}

func (d *stopsAfterFirstOffers) CreateOffers(ctx context.Context, ps []store.OfferParams) ([]store.LifecycleResult, []error, error) {
	if d.calls.Add(1) > 1 {
		d.stop()
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	return d.Store.CreateOffers(ctx, ps)
}

// TestDispatchStoppedPartWayIsLogged: a dispatch run stopped by the
// server's stop after its first batch of offers leaves those offers
// standing, and their volunteers have heard of them, but nobody reads its
// reply. The log said nothing of the run: an operator asking after the
// restart why volunteers were offered requests found no dispatch at all.
func TestDispatchStoppedPartWayIsLogged(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0), server.WithCandidatesPerRequest(100))
	const n = 300 // more than one batch of offers
	moreThanABatch(t, h, n)
	ctx, stop := context.WithCancel(h.ctx)
	defer stop()
	d := &stopsAfterFirstOffers{stop: stop}
	h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
	h.reopen()

	if _, err := h.match.Dispatch(ctx, &pb.DispatchRequest{}); err == nil {
		t.Fatal("a dispatch stopped part-way answered as if it ran to its end")
	}
	offered := h.countOffered()
	if offered == 0 || offered == n {
		t.Fatalf("%d of %d requests offered: the run did not stop part-way", offered, n)
	}
	logged := false
	for _, e := range h.logs.All() {
		if got, ok := e.ContextMap()["offers"]; ok && fmt.Sprint(got) == fmt.Sprint(offered) {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the %d offers of a dispatch stopped part-way are not in the log: %v", offered, h.logs.All())
	}
}
