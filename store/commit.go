package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// maxBatch bounds one transaction so that a burst cannot build a commit
// too large to finish quickly; the rest wait for the next one.
const maxBatch = 1024

// writeTx is the view of a read-write transaction that a write gets. It
// notes whether the write changed anything, so that a write that fails
// after changing something can be undone by rolling the batch back.
type writeTx struct {
	tx    *bolt.Tx
	dirty bool
	rev   uint64 // the revision this write took, once it has taken one
	seq   uint32 // events emitted so far under rev
	// touched names the records this write's events named, for audit
	// records that do not name theirs.
	touched []string
	// revoked names the tokens this write revoked in passing (a
	// volunteer's deletion or erasure ends theirs), for their own trails.
	revoked []string
}

func (w *writeTx) put(b *bolt.Bucket, k, v []byte) error {
	w.dirty = true
	return b.Put(k, v)
}

func (w *writeTx) delete(b *bolt.Bucket, k []byte) error {
	w.dirty = true
	return b.Delete(k)
}

// op is one write waiting for the committer. fn may run more than once (a
// batch that is rolled back runs again write by write), so it must set its
// results afresh on every run.
type op struct {
	fn    func(w *writeTx) error
	done  chan error
	state atomic.Int32 // opQueued, then opTaken by the committer or opAbandoned by its caller
}

// An op's caller and the committer race to settle it once: the caller may
// abandon a write that has not begun, and then it never runs; once the
// committer has taken it, the caller waits for its commit.
const (
	opQueued int32 = iota
	opTaken
	opAbandoned
)

// ackBeforeCommitLag is how long the crash test's broken committer
// (ackBeforeCommit) leaves its acknowledged writes uncommitted.
const ackBeforeCommitLag = 50 * time.Millisecond

// committer gathers writes into shared transactions.
type committer struct {
	db   *bolt.DB
	ops  chan *op
	bell *bell // rung with the newest revision after each commit

	mu     sync.RWMutex // held for reading while sending to ops
	closed bool
	exited chan struct{}

	// ackBeforeCommit is for the crash test's proof that it would catch a
	// write acknowledged before its commit; nothing else sets it.
	ackBeforeCommit atomic.Bool

	// audit writes a context's audit records within a write (see
	// WithAudit).
	audit func(w *writeTx, recs []*pb.AuditRecord) error
	// observe, when set, is told of each commit (WithCommitObserver).
	observe func(CommitStats)
}

// CommitStats describes one commit of the store's writer: how many writes
// it carried (not counting those refused, which wrote nothing) and how long bbolt took to write their pages and sync the
// file, which is what a slow disk slows.
type CommitStats struct {
	Writes int
	Commit time.Duration
	// Failed says the commit failed (a full disk, an I/O error): none of
	// its writes was made, and Writes is 0.
	Failed bool
}

func newCommitter(db *bolt.DB, rev uint64) *committer {
	c := &committer{db: db, ops: make(chan *op, 4*maxBatch), exited: make(chan struct{}), bell: newBell(rev)}
	go c.run()
	return c
}

// do runs fn in a write transaction and returns once that transaction has
// committed (or failed). An error always means nothing was written: a
// caller whose ctx ends while its write waits in the queue gets ctx's
// error and the write never runs, but one whose write has begun waits for
// its commit (a batch's time, milliseconds) and gets its result. Callers
// keep derived state, the matching index above all, in step with what
// each write returns; a write that committed behind an error would leave
// that state wrong until the next restart.
func (c *committer) do(ctx context.Context, fn func(w *writeTx) error) error {
	if recs := auditFrom(ctx); len(recs) > 0 && c.audit != nil {
		inner := fn
		// Only a write that changed records (took a revision) is audited:
		// housekeeping made with the same context, such as a key rotation
		// after an erasure, is not the change the records describe.
		fn = func(w *writeTx) error {
			if err := inner(w); err != nil || !w.dirty || w.rev == 0 {
				return err
			}
			return c.audit(w, recs)
		}
	}
	o := &op{fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.ops <- o:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opAbandoned) {
			return ctx.Err()
		}
		return <-o.done
	}
}

// close stops new writes, commits those already queued and waits for the
// committer to finish.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.exited
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.ops)
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	batch := make([]*op, 0, maxBatch)
	for first := range c.ops {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-c.ops:
				if !ok {
					break gather
				}
				batch = append(batch, o)
			default:
				break gather
			}
		}
		c.commit(batch)
		clear(batch)
	}
}

func (c *committer) commit(batch []*op) {
	live := batch[:0]
	for _, o := range batch {
		if o.state.CompareAndSwap(opQueued, opTaken) {
			live = append(live, o)
		}
	}
	for batch = live; len(batch) > 0; {
		batch = c.commitUntilDirty(batch)
	}
}

// commitUntilDirty commits writes the committer has taken in one
// transaction, and returns those it left for later: none, unless one
// failed after changing something. That one's transaction is rolled back,
// and with it the writes before it; they are committed together again,
// the failed one runs alone, so that what it changed goes and its caller
// gets its error, and those after it are returned, to go on as a batch of
// their own. Such a failure is an ordinary refusal (an edit of an
// assigned request its volunteer has no room for is refused once
// written): were every write of the batch committed alone instead, one
// refusal in a batch of hundreds, on a busy day on a slow disk, would
// cost as many syncs of the file, and hold every caller up for seconds.
func (c *committer) commitUntilDirty(batch []*op) (rest []*op) {
	tx, err := c.db.Begin(true)
	if err != nil {
		c.fail(batch, fmt.Errorf("begin: %w", err))
		return nil
	}
	packAppends(tx)
	results := make([]error, len(batch))
	var rev uint64
	for i, o := range batch {
		w := &writeTx{tx: tx}
		err := o.fn(w)
		if err != nil && w.dirty {
			_ = tx.Rollback()
			for before := batch[:i]; len(before) > 0; {
				before = c.commitUntilDirty(before)
			}
			c.commitEach(batch[i : i+1])
			return batch[i+1:]
		}
		results[i] = err
		rev = max(rev, w.rev)
	}
	if c.ackBeforeCommit.Load() {
		for i, o := range batch {
			o.done <- results[i]
		}
		// As a slow disk would: on a loaded machine the acks reached the
		// test's callers only after a fast fsync was done, and 20 kills
		// could miss every lost write (the proof failed under load).
		time.Sleep(ackBeforeCommitLag)
		_ = tx.Commit()
		return nil
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		if c.observe != nil {
			c.observe(CommitStats{Commit: time.Since(start), Failed: true})
		}
		c.fail(batch, fmt.Errorf("commit: %w", err))
		return nil
	}
	if c.observe != nil {
		// A write refused (a stale etag, a record gone) wrote nothing:
		// counted, refusals would read as work the disk did.
		done := 0
		for _, err := range results {
			if err == nil {
				done++
			}
		}
		c.observe(CommitStats{Writes: done, Commit: time.Since(start)})
	}
	c.bell.ring(rev)
	for i, o := range batch {
		o.done <- results[i]
	}
	return nil
}

// commitEach runs every write of a batch in its own transaction: a write
// that failed half-way (commitUntilDirty's), so that it is rolled back
// without taking others along.
func (c *committer) commitEach(batch []*op) {
	for _, o := range batch {
		w := &writeTx{}
		start := time.Now()
		var refused error
		err := c.db.Update(func(tx *bolt.Tx) error {
			packAppends(tx)
			*w = writeTx{tx: tx}
			refused = o.fn(w)
			return refused
		})
		switch {
		case err == nil:
			if c.observe != nil {
				c.observe(CommitStats{Writes: 1, Commit: time.Since(start)}) // the write's own work too: rare, after a failed batch
			}
			c.bell.ring(w.rev)
		case refused == nil && c.observe != nil:
			// Not refused, yet not made: its commit failed. Alone, the
			// write can succeed where it failed in the batch, when the
			// writes before it failed to commit (a full disk).
			c.observe(CommitStats{Commit: time.Since(start), Failed: true})
		}
		o.done <- err
	}
}

func (c *committer) fail(batch []*op, err error) {
	for _, o := range batch {
		o.done <- err
	}
}

// appendFillPercent is how full bbolt leaves a page it splits, in the
// buckets packAppends names.
const appendFillPercent = 0.9

// packAppends has the write transaction tx fill the pages of the buckets
// keyed by id or revision (records, contacts, data keys, events, audit)
// before it splits them. Those keys only grow, so every insert lands at
// the end, and at bbolt's default of half a page each page is left half
// empty: a store of a million volunteers took 1.4 GB where 0.7 GB of it
// was data, and every start reads all of it. The tenth left free takes an
// edit that makes a record a little longer without a split. Indexes keyed
// by postcode or phone hash take keys anywhere, and keep the default.
// bbolt keeps a bucket opened in a write transaction for the rest of it,
// so the setting holds for every later use there.
func packAppends(tx *bolt.Tx) {
	pack := func(b *bolt.Bucket) {
		if b != nil {
			b.FillPercent = appendFillPercent
		}
	}
	pack(tx.Bucket(bKeys))
	pack(tx.Bucket(bEvents))
	pack(tx.Bucket(bAudit))
	// Keyed by record, then id: most reads are of records made lately,
	// whose entries all land at the end of their collection's part.
	pack(tx.Bucket(bAuditByResource))
	for _, name := range [][]byte{bHelpRequests, bVolunteers, bOffers, bTokens} {
		if top := tx.Bucket(name); top != nil {
			pack(top.Bucket(bRecords))
			pack(top.Bucket(bContacts))
			pack(top.Bucket(bPhoneToken))
			if r := top.Bucket(bRotation); r != nil {
				pack(r.Bucket(bPhoneToken)) // a key rotation's, under way
			}
		}
	}
}
