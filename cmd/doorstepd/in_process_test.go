package main

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/doorstep-aid/doorstep/store"
)

// runInProcess starts run on a loopback port, logging only errors, and
// waits until it serves: the stop tests' server, which ctx stops as a first
// signal does and force as a second. It returns the address served and
// run's result once it returns.
func runInProcess(t *testing.T, ctx context.Context, force <-chan struct{}, args ...string) (net.Addr, <-chan error) {
	t.Helper()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, force, append([]string{"--listen", "127.0.0.1:0", "--log-level", "error"}, args...),
			func(string) string { return "" }, io.Discard, ready)
	}()
	select {
	case addr := <-ready:
		return addr, done
	case err := <-done:
		t.Fatalf("start: %v", err)
		return nil, nil
	}
}

// commitHold holds the first commit after arm until release: to
// everyone else, a commit whose sync has not returned (a disk that stopped
// answering, or a slow one). The committer calls its observer before it
// answers the commit's writes, so the hold is there.
type commitHold struct {
	armed   atomic.Bool
	held    chan struct{} // closed once a commit is held
	release chan struct{}
	once    sync.Once
}

// holdCommits gives the next run's store a commitHold, released and
// removed when the test ends.
func holdCommits(t *testing.T) *commitHold {
	h := &commitHold{held: make(chan struct{}), release: make(chan struct{})}
	testStoreOptions = []store.Option{store.WithCommitObserver(func(store.CommitStats) {
		if h.armed.CompareAndSwap(true, false) {
			close(h.held)
			<-h.release
		}
	})}
	t.Cleanup(func() {
		h.end()
		testStoreOptions = nil
	})
	return h
}

func (h *commitHold) arm() { h.armed.Store(true) }

// end lets the held commit end; more than once is once.
func (h *commitHold) end() { h.once.Do(func() { close(h.release) }) }
