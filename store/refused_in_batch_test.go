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

// TestManyEditsRefusedInABatch: refusals after writing at the start of a
// batch, side by side, in its middle and at its end, among creates, each
// cost their own caller only: every caller is answered once (none waits
// for ever), the refused get their refusal and write nothing, each other
// write runs at most twice (once more only when rolled back with a
// refused one), and the creates are stored in the order they came, with
// revisions and events one after another and none skipped.
func TestManyEditsRefusedInABatch(t *testing.T) {
	s, _ := newStore(t)
	rev0, err := s.Revision()
	mustOK(t, err, "revision")
	errBusy := errors.New("no room for it")
	// c a create, r a write refused once it has begun to write.
	const plan = "rrccrcrrcccrcr"
	var runs [len(plan)]atomic.Int32
	errs := make([]error, len(plan))
	names := make([]string, len(plan))

	release := blockCommitter(t, s)
	var wg sync.WaitGroup
	for i, kind := range plan {
		wg.Go(func() {
			if kind == 'r' {
				errs[i] = s.c.do(bg, func(w *writeTx) error {
					runs[i].Add(1)
					if _, err := bumpRevision(w); err != nil {
						return err
					}
					return errBusy
				})
				return
			}
			hr, err := s.CreateHelpRequest(bg, newHelpRequest("org-a", fmt.Sprintf("ext-%d", i), "AB10 1AB", fmt.Sprintf("+4412241%05d", i)), Idempotency{})
			errs[i] = err
			if err == nil {
				names[i] = hr.Name
			}
		})
		waitQueued(t, s, i+1) // in the plan's order
	}
	release()
	waitGroup(t, &wg, "batch")

	creates := 0
	for i, kind := range plan {
		switch kind {
		case 'r':
			mustErr(t, errs[i], errBusy, fmt.Sprintf("write %d", i))
			if n := runs[i].Load(); n < 1 || n > 2 {
				t.Errorf("write %d ran %d times", i, n)
			}
		default:
			mustOK(t, errs[i], fmt.Sprintf("create %d", i))
			creates++
		}
	}
	rev, err := s.Revision()
	mustOK(t, err, "revision")
	if rev != rev0+uint64(creates) {
		t.Errorf("revision %d after %d creates from %d: refused writes took revisions, or creates shared them", rev, creates, rev0)
	}
	page, err := s.ReadEvents(bg, rev0+1, 1000)
	mustOK(t, err, "read events")
	if len(page.Events) != creates {
		t.Fatalf("%d events, want %d", len(page.Events), creates)
	}
	at := map[string]int64{}
	for i, ev := range page.Events {
		if want := int64(rev0) + int64(i) + 1; ev.Revision != want {
			t.Errorf("event %d at revision %d, want %d", i, ev.Revision, want)
		}
		at[ev.GetHelpRequest()] = ev.Revision
	}
	var last int64
	for i, kind := range plan {
		if kind != 'c' {
			continue
		}
		r, ok := at[names[i]]
		if !ok {
			t.Errorf("create %d (%s) has no event", i, names[i])
			continue
		}
		if r <= last {
			t.Errorf("create %d at revision %d, after one at %d: out of order", i, r, last)
		}
		last = r
	}
	if got := listAllHR(t, s, HelpRequestFilter{}, 1000); len(got) != creates {
		t.Errorf("%d records, want %d", len(got), creates)
	}
	verifyIndexes(t, s)
}
