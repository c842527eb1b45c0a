package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// purgeCounter counts the store's purges that removed something: each
// ends with a key rotation, one write transaction over every data key in
// the file, during which every other write waits (store/doc.go).
type purgeCounter struct {
	store.Store
	rotations *atomic.Int32
}

func (p purgeCounter) PurgePersonalData(ctx context.Context, closedBefore time.Time, limit int) (int, error) {
	n, err := p.Store.PurgePersonalData(ctx, closedBefore, limit)
	if n > 0 {
		p.rotations.Add(1)
	}
	return n, err
}

// TestPurgeBacklogRotatesOnce: a sweep that works through a purge backlog
// rotates the keys once, not once per thousand requests: with a large file each rotation
// holds up every write for seconds (1.2 s per 100,000 records), and the
// hourly purgeEvery exists precisely to keep rotations rare.
func TestPurgeBacklogRotatesOnce(t *testing.T) {
	const retention = 48 * time.Hour
	const n = 2001
	clock := &testClock{t: time.Now()}
	var rotations atomic.Int32
	h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(retention))
	h.wrap = func(st store.Store) store.Store { return purgeCounter{Store: st, rotations: &rotations} }
	h.reopen()
	for i := 0; i < n; i += 500 {
		var rows []*pb.HelpRequest
		for j := i; j < min(i+500, n); j++ {
			r := bulkRow(fmt.Sprintf("purge-%d", j))
			r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(time.Hour))}
			rows = append(rows, r)
		}
		if _, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows}); err != nil {
			t.Fatal(err)
		}
	}
	clock.advance(2 * time.Hour)
	for range 3 {
		h.srv.Sweep(h.ctx) // all expire together
	}
	rotations.Store(0)
	clock.advance(retention + time.Hour)
	h.srv.Sweep(h.ctx)
	if got := h.unpurged(pb.HelpRequest_STATE_EXPIRED); got != 0 {
		t.Fatalf("%d requests not purged", got)
	}
	if r := rotations.Load(); r != 1 {
		t.Errorf("one sweep's purge of %d requests rotated the keys %d times, want 1", n, r)
	}
}
