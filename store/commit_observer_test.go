package store

import (
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
