package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/internal/smalldisk"
)

// TestCommitObserverCountsWrites: every write committed is counted once,
// whether it shares a commit or not, with the commit's time.
func TestCommitObserverCountsWrites(t *testing.T) {
	var mu sync.Mutex
	var writes, commits int
	var longest time.Duration
	s, _ := newStore(t, WithCommitObserver(func(c CommitStats) {
		mu.Lock()
		defer mu.Unlock()
		writes += c.Writes
		commits++
		longest = max(longest, c.Commit)
	}))
	mu.Lock()
	base := writes
	mu.Unlock()
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { lcVolunteer(t, s, 1) })
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if writes-base != n || commits == 0 || longest <= 0 {
		t.Errorf("%d writes in %d commits (longest %v); want %d writes", writes-base, commits, longest, n)
	}
}

// TestCommitObserverCountsOnlyWritesDone: a write the store refused
// (a stale etag, a record gone) wrote nothing, yet
// doorstep_store_writes_committed_total counted it when it shared a
// batch's commit, and not when it ran alone after a failed batch: an
// operator reading writes over commits saw refusals as work done.
func TestCommitObserverCountsOnlyWritesDone(t *testing.T) {
	var mu sync.Mutex
	var writes int
	s, _ := newStore(t, WithCommitObserver(func(c CommitStats) {
		mu.Lock()
		defer mu.Unlock()
		writes += c.Writes
	}))
	v := lcVolunteer(t, s, 1)
	mu.Lock()
	base := writes
	mu.Unlock()
	if err := s.DeleteVolunteer(bg, idOf(v.Name), "not its etag"); !errors.Is(err, ErrEtagMismatch) {
		t.Fatalf("delete with a stale etag: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if writes != base {
		t.Errorf("a refused write was counted: %d writes committed, want 0", writes-base)
	}
}

// TestCommitObserverSeesFailure: a commit that fails for a full disk is
// told as failed, with no writes: an operator alerting on it learns of the
// disk before the callers' complaints do.
func TestCommitObserverSeesFailure(t *testing.T) {
	dir := smalldisk.Mount(t, 16<<20)
	var mu sync.Mutex
	var failed, writes int
	s, err := Open(filepath.Join(dir, "doorstep.db"), WithClock(newFakeClock().now), WithCommitObserver(func(c CommitStats) {
		mu.Lock()
		defer mu.Unlock()
		if c.Failed {
			failed++
			if c.Writes != 0 {
				t.Errorf("a failed commit counted %d writes", c.Writes)
			}
		}
		writes += c.Writes
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // may fail on the full disk: nothing to check
	lcVolunteer(t, s, 1)
	smalldisk.Fill(t, dir)
	var refused error
	for range 200 {
		v := newVolunteer("org-a", "AB10 1AF", fmt.Sprintf("+4477008%05d", lcSeq.Add(1)), "driver")
		v.Contact.DisplayName = strings.Repeat("x", 2000) // pages fill sooner
		if _, refused = s.CreateVolunteer(bg, v, Idempotency{}); refused != nil {
			break
		}
	}
	if refused == nil {
		t.Fatal("200 writes to a full disk all succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if failed == 0 {
		t.Errorf("a write was refused (%v) and no failed commit was observed (%d writes observed)", refused, writes)
	}
}
