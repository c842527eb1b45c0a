package main

import (
	"context"
	"testing"
	"time"
)

// TestSecondSignalWhileTheSweepEndsWaitsItsGrace: an operator pressed
// Ctrl-C, the calls had all ended, and the stop waited for a sweep's commit
// (on a sound but slow disk, or a dispatch of many offers). A second Ctrl-C
// then ended the stop at once, without the second's grace that a second
// signal before the calls ended gets: the store was left unclosed, exit 2,
// and "is its disk answering?" logged at error level, though the commit
// ended a moment later. Given the grace, the commit ends within it, the
// store is closed and the stop is clean.
func TestSecondSignalWhileTheSweepEndsWaitsItsGrace(t *testing.T) {
	dir := t.TempDir()
	hold := holdCommits(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	force := make(chan struct{})
	_, done := runInProcess(t, ctx, force, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--sweep-every", "1s")
	hold.arm() // the next commit is a sweep's: no call is made
	select {
	case <-hold.held:
	case <-time.After(30 * time.Second):
		t.Fatal("no sweep committed")
	}
	stop()
	// No call runs: the stop is past the calls, waiting for the sweep.
	time.Sleep(100 * time.Millisecond)
	close(force)
	hold.end() // the slow commit ends
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a second signal while a sweep's commit ended: %v; want a clean stop, the store closed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stop did not end")
	}
}
