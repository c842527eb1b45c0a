package server_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// heldLookups is a store whose lookups by external_id, a batch row's
// first step, wait until hold is closed: a store held up (a key
// rotation, a slow disk) while batches keep coming.
type heldLookups struct {
	store.Store
	waiting *atomic.Int32
	hold    chan struct{}
}

func (s heldLookups) GetHelpRequestByExternalID(ctx context.Context, org, ext string) (*pb.HelpRequest, error) {
	s.waiting.Add(1)
	<-s.hold
	return s.Store.GetHelpRequestByExternalID(ctx, org, ext)
}

// TestBatchesWhileStoreIsSlowHoldFewGoroutines: an importer that sends
// batches in parallel while the store is held up must not make the server
// start a goroutine for every row it has yet to write: twenty batches of
// 500 rows parked 10,000 of them, and a token's burst allows 200 batches.
// Each batch works on a fixed number of rows at a time.
func TestBatchesWhileStoreIsSlowHoldFewGoroutines(t *testing.T) {
	h := newHarness(t)
	held := heldLookups{waiting: new(atomic.Int32), hold: make(chan struct{})}
	h.wrap = func(st store.Store) store.Store { held.Store = st; return held }
	h.reopen()
	const batches, rows, workers = 20, 500, 32
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for b := range batches {
		wg.Go(func() {
			var req pb.BatchCreateHelpRequestsRequest
			for r := range rows {
				req.HelpRequests = append(req.HelpRequests, bulkRow(fmt.Sprintf("b%d-r%d", b, r)))
			}
			resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &req)
			if err != nil {
				t.Errorf("batch %d: %v", b, err)
				return
			}
			for _, r := range resp.Results {
				if r.Error != nil {
					t.Errorf("batch %d row %d: %v", b, r.Index, r.Error)
					return
				}
			}
		})
	}
	// Every batch has as many rows at the store as it works on at once.
	for deadline := time.Now().Add(20 * time.Second); held.waiting.Load() < batches*workers && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	got := runtime.NumGoroutine() - base
	close(held.hold)
	wg.Wait()
	// The batches' own calls, client and server, and their workers.
	if limit := batches * (workers + 20); got > limit {
		t.Errorf("%d batches of %d rows, held at the store, took %d goroutines; want at most %d", batches, rows, got, limit)
	}
}
