package store

import (
	"errors"
	"sync"
	"testing"
	"time"
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
