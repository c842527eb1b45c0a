package server_test

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestSchedstatWait(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int64
		ok   bool
	}{
		{"1234 5678 9\n", 5678, true},
		{"0 0 0", 0, true},
		{"1234 5678", 0, false},      // not the three fields
		{"1234 5678 9 10", 0, false}, // nor more
		{"1234 x 9", 0, false},       // not a number
		{"1234 -5 9", 0, false},      // a wait is never negative
		{"", 0, false},
	} {
		got, ok := schedstatWait(tc.text)
		if got != tc.want || ok != tc.ok {
			t.Errorf("schedstatWait(%q) = %d, %v; want %d, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRunQueueWaitGrowsWhenThreadsOutnumberCores: threads that spin on
// more OS threads than there are cores must take turns, and the turns
// they wait are what runQueueWait counts.
func TestRunQueueWaitGrowsWhenThreadsOutnumberCores(t *testing.T) {
	before, ok := runQueueWait()
	if !ok {
		t.Skip("no /proc/self/task/*/schedstat here")
	}
	threads := runtime.NumCPU() + 2
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	var wg sync.WaitGroup
	stop := time.Now().Add(100 * time.Millisecond)
	for range threads {
		wg.Go(func() {
			for time.Now().Before(stop) {
			}
		})
	}
	wg.Wait()
	after, _ := runQueueWait()
	if after <= before {
		t.Errorf("run-queue wait went from %v to %v with %d threads spinning on %d cores", before, after, threads, runtime.NumCPU())
	}
}
