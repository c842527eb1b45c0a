package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestPurgeKeepsUpWithClosures: personal data outlives its retention by an
// hour at most (purgeEvery), however many requests closed together: a
// purge writes a thousand at a time until none is left.
func TestPurgeKeepsUpWithClosures(t *testing.T) {
	const retention = 48 * time.Hour
	const n = 2001
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(retention))
	for i := 0; i < n; i += 500 {
		var rows []*pb.HelpRequest
		for j := i; j < min(i+500, n); j++ {
			r := bulkRow(fmt.Sprintf("purge-%d", j))
			r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(time.Hour))}
			rows = append(rows, r)
		}
		resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: rows})
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range resp.Results {
			if res.GetError() != nil {
				t.Fatalf("row: %v", res.GetError())
			}
		}
	}
	// All of them close (expire) together.
	clock.advance(2 * time.Hour)
	for range 3 {
		h.srv.Sweep(h.ctx)
	}
	if got := h.unpurged(pb.HelpRequest_STATE_EXPIRED); got != n {
		t.Fatalf("%d expired requests keep their data, want all %d", got, n)
	}
	// Past the retention: the next sweeps purge.
	clock.advance(retention + time.Minute)
	h.srv.Sweep(h.ctx)
	clock.advance(time.Hour + time.Minute)
	h.srv.Sweep(h.ctx)
	// Now 62 minutes past their retention.
	if got := h.unpurged(pb.HelpRequest_STATE_EXPIRED); got != 0 {
		t.Errorf("%d requests keep their personal data %v after their retention ended, want none (at most an hour late)",
			got, time.Hour+2*time.Minute)
	}
}

// unpurged counts the requests in state st whose personal data is still
// held.
func (h *harness) unpurged(st pb.HelpRequest_State) int {
	h.t.Helper()
	n := 0
	for tok := ""; ; {
		got, next, err := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{State: st}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range got {
			if r.PersonalDataRemovedTime == nil {
				n++
			}
		}
		if tok = next; tok == "" {
			return n
		}
	}
}

// TestMaintainStopsDispatchingOnceCancelled: once its context is cancelled
// (doorstepd cancels it on SIGTERM), Maintain starts no dispatch run, even
// when a dispatch tick is due as it stops.
func TestMaintainStopsDispatchingOnceCancelled(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	for i := 0; i < 30; i++ {
		// A dispatch tick is due at once; shutdown has already begun.
		_ = h.srv.Maintain(ctx, time.Hour, time.Nanosecond)
	}
	if n := h.logs.FilterMessage("dispatched").Len(); n != 0 {
		t.Errorf("Maintain ran %d dispatches after its context was cancelled, want none", n)
	}
}

// TestMaintainSweepsAtStart: offers whose lease ran out while the server
// was down must lapse as it starts, not a whole --sweep-every later: until
// then their requests are held from everyone else (a dispatch run by hand
// just after a restart passes them over) and their volunteers' room stays
// taken.
func TestMaintainSweepsAtStart(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping(inTwoDays(clock)))
	o := h.offer(hr.Name, ann.Name)
	clock.advance(31 * time.Minute) // the lease ran out while the server was down

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, 0) }()
	deadline := time.Now().Add(10 * time.Second)
	for h.logs.FilterMessage("swept").Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := h.getOffer(o.Name); got.State != pb.Offer_STATE_EXPIRED {
		t.Errorf("an offer whose lease ran out before the start is %v after Maintain began (sweeping hourly), want EXPIRED at once", got.State)
	}
}

// TestMaintainCatchesUpAtStart: a sweep lapses a thousand offers at most,
// so that one sweep cannot hold up other writes. After a night down, a
// busy day's offers can be more than that: the start's sweep must lapse
// all of them, not leave the rest holding their requests and their
// volunteers' room for another --sweep-every, and another after that.
func TestMaintainCatchesUpAtStart(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithRateLimit(0, 0))
	const n = 1100 // more than one sweep lapses
	moreThanABatch(t, h, n)
	var vols, reqs []string
	for tok := ""; ; {
		page, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Volunteers {
			vols = append(vols, v.Name)
		}
		if tok = page.NextPageToken; tok == "" {
			break
		}
	}
	for tok := ""; ; {
		page, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.HelpRequests {
			reqs = append(reqs, r.Name)
		}
		if tok = page.NextPageToken; tok == "" {
			break
		}
	}
	if len(vols) != n || len(reqs) != n {
		t.Fatalf("%d volunteers and %d requests listed, want %d of each", len(vols), len(reqs), n)
	}
	for i, r := range reqs {
		h.offer(r, vols[i])
	}
	clock.advance(31 * time.Minute) // the leases ran out while the server was down

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, 0) }()
	deadline := time.Now().Add(20 * time.Second)
	for h.countOffered() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if got := h.countOffered(); got > 0 {
		t.Errorf("%d of %d requests still held by offers whose lease ran out before the start, after Maintain began (sweeping hourly), want none", got, n)
	}
}
