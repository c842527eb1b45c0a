package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// fillsAfterFirstOffers is a store whose disk fills once the first batch
// of a dispatch run's offers is written.
type fillsAfterFirstOffers struct {
	store.Store
	calls atomic.Int32
}

func (d *fillsAfterFirstOffers) CreateOffers(ctx context.Context, ps []store.OfferParams) ([]store.LifecycleResult, []error, error) {
	if d.calls.Add(1) > 1 {
		return nil, nil, noSpace("create offers")
	}
	return d.Store.CreateOffers(ctx, ps)
}

// A dispatch run writes its offers a batch at a time. When the disk fills
// after the first batch, those offers stand and their volunteers hear of
// them: the coordinator must not be told that nothing was changed, and
// then offer those requests by hand.
func TestDispatchOnADiskThatFillsSaysWhatWasMade(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0), server.WithCandidatesPerRequest(100))
	const n = 300 // more than one batch of offers
	moreThanABatch(t, h, n)
	d := &fillsAfterFirstOffers{}
	h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
	h.reopen()

	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	offered := h.countOffered()
	if offered == 0 || offered == n {
		t.Fatalf("%d of %d requests offered: the disk did not fill part-way", offered, n)
	}
	if err != nil {
		t.Fatalf("dispatch that made %d offers before the disk filled: %v %q, want the offers it made", offered, status.Code(err), status.Convert(err).Message())
	}
	if int(resp.OffersMade) != offered {
		t.Errorf("dispatch says %d offers made, %d were", resp.OffersMade, offered)
	}
	if int(resp.Uncovered) != n-offered {
		t.Errorf("dispatch says %d uncovered, %d are", resp.Uncovered, n-offered)
	}
	if status.Code(err) == codes.OK && len(h.logs.FilterMessageSnippet("disk full").All()) == 0 {
		t.Error("the log does not say the disk is full")
	}
	// A run whose first batch does not fit changed nothing, and says so.
	_, err = h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	wantDiskFull(t, "a dispatch that wrote nothing", err)
}

// moreThanABatch stores n volunteers and n open requests that a dispatch
// run covers with more offers than one batch of its writes holds.
func moreThanABatch(t *testing.T, h *harness, n int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: matchVolunteer(fmt.Sprintf("Vol %d", i), "AB10 1AB", func(v *pb.Volunteer) {
				v.Contact.Phone, v.Capacity = fmt.Sprintf("07700 9%05d", i), 5
			})}); err != nil {
				t.Error(err)
			}
			if _, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(callerPhone(fmt.Sprintf("01224 %06d", i)), func(r *pb.HelpRequest) {
				// Over five days, so that each volunteer can take several.
				day := time.Duration(i%5) * 24 * time.Hour
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: ts(day + time.Hour), EndTime: ts(day + 5*time.Hour)}}
			})}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// countOffered counts the requests in state OFFERED.
func (h *harness) countOffered() int {
	h.t.Helper()
	offered := 0
	for tok := ""; ; {
		page, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range page.HelpRequests {
			if r.State == pb.HelpRequest_STATE_OFFERED {
				offered++
			}
		}
		if tok = page.NextPageToken; tok == "" {
			break
		}
	}
	return offered
}
