package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditRefusedInABatchCostsFewCommits: a coordinator's edit of an
// assigned request that its volunteer's other jobs leave no room for is
// refused (BUSY) after the edit has begun to write, which rolls back the
// batch it shares. On a busy day on a slow disk a batch holds hundreds of
// other callers' writes, and each was then committed in a transaction of
// its own, one sync of the file apiece: a refusal cost as many syncs as
// the batch had writes (200 writes at 100 ms a sync held every caller up
// for 20 s, long past their deadlines, and the queue grew behind them).
// The writes on either side of the refused one are committed together.
func TestEditRefusedInABatchCostsFewCommits(t *testing.T) {
	var commits atomic.Int32
	s, _ := newStore(t, WithCommitObserver(func(c CommitStats) {
		if !c.Failed {
			commits.Add(1)
		}
	}))
	hr := lcRequest(t, s)
	v := lcVolunteer(t, s, 1)
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(lcOffer(t, s, hr, v).Offer.Name)))
	assigned, err := s.GetHelpRequest(bg, idOf(hr.Name))
	mustOK(t, err, "get")
	errBusy := errors.New("the volunteer's other jobs leave no room for it")

	release := blockCommitter(t, s)
	const half = 100
	var wg sync.WaitGroup
	var failed atomic.Int32
	createAll := func(from int) {
		for i := from; i < from+half; i++ {
			wg.Go(func() {
				if _, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", "", "AB10 1AB", fmt.Sprintf("+4412240%05d", i)), Idempotency{}); err != nil {
					failed.Add(1)
				}
			})
		}
	}
	createAll(0)
	waitQueued(t, s, half)
	var editErr error
	wg.Go(func() {
		edit := proto.Clone(assigned).(*pb.HelpRequest)
		edit.Needs = []pb.Need{pb.Need_NEED_GROCERY_SHOPPING}
		_, editErr = s.UpdateHelpRequest(bg, edit, func(req *pb.HelpRequest, _ *pb.Volunteer) error {
			if len(req.Needs) == 1 { // the job as edited
				return errBusy
			}
			return nil
		})
	})
	waitQueued(t, s, half+1)
	createAll(half)
	waitQueued(t, s, 2*half+1)
	base := commits.Load()
	release()
	waitGroup(t, &wg, "batch")

	mustErr(t, editErr, errBusy, "edit")
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d creates failed", n)
	}
	if got := listAllHR(t, s, HelpRequestFilter{}, 1000); len(got) != 2*half+1 {
		t.Errorf("%d records, want %d", len(got), 2*half+1)
	}
	// The block's own commit, the writes before the refused one, those
	// after it.
	if got := commits.Load() - base; got > 3 {
		t.Errorf("%d writes and one refused edit in a batch took %d commits; want at most 3", 2*half, got)
	}
	verifyIndexes(t, s)
}
