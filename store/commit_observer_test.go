package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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

// TestCommitObserverSeesFailureOfAWriteRetriedAlone: a write that failed
// after writing, because of a write before it in the batch, runs again
// alone once the writes before it are committed. On a full disk their
// commit fails, so the retried write, no longer refused, wrote and
// committed alone, and that commit failed too: its caller was refused,
// and doorstep_store_commits_failed_total did not count it.
func TestCommitObserverSeesFailureOfAWriteRetriedAlone(t *testing.T) {
	dir := smalldisk.Mount(t, 16<<20)
	var mu sync.Mutex
	var failed int
	s, err := Open(filepath.Join(dir, "doorstep.db"), WithClock(newFakeClock().now), WithCommitObserver(func(c CommitStats) {
		mu.Lock()
		defer mu.Unlock()
		if c.Failed {
			failed++
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // may fail on the full disk: nothing to check
	smalldisk.Fill(t, dir)

	blob := make([]byte, 1<<20) // more than the file's free pages hold
	bucket, first := []byte("retried_alone_test"), []byte("first")
	// second is refused, after writing, when first's write is there: as
	// an edit of an assigned request is when a write before it in the
	// batch took its volunteer's room.
	newOp := func(fn func(w *writeTx, b *bolt.Bucket) error) *op {
		return &op{done: make(chan error, 1), fn: func(w *writeTx) error {
			b, err := w.tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			return fn(w, b)
		}}
	}
	one := newOp(func(w *writeTx, b *bolt.Bucket) error { return w.put(b, first, blob) })
	two := newOp(func(w *writeTx, b *bolt.Bucket) error {
		if err := w.put(b, []byte("second"), blob); err != nil {
			return err
		}
		if b.Get(first) != nil {
			return errors.New("refused: the first write took what this one needs")
		}
		return nil
	})
	s.c.commit([]*op{one, two})
	errA, errB := <-one.done, <-two.done
	if errA == nil || errB == nil {
		t.Fatalf("on a full disk: the first write %v, the second %v; want both refused", errA, errB)
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != 2 {
		t.Errorf("two writes refused by failed commits (%v; %v), %d failed commits observed, want 2", errA, errB, failed)
	}
}
