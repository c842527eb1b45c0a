package server

import (
	"testing"
	"time"
)

// Each call reads the clock before it takes the limiter's lock, and two
// calls of one token at once may take it in the other order: the one
// that read the clock first then found its bucket filled up to a moment
// after its own reading, and that moment was taken from the bucket. At
// 1,000 calls a second, a call held up 10 ms between the two (a busy
// server) cost the token ten calls, and calls that kept within the rate
// were refused RATE_LIMITED. A reading before the bucket's last adds
// nothing, and takes nothing.
func TestRateClockReadBeforeAnotherCall(t *testing.T) {
	l := newLimiter(1000, 10)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if ok, _ := l.allow("tokens/a", t0.Add(10*time.Millisecond)); !ok {
		t.Fatal("a token's first call refused")
	}
	if ok, _ := l.allow("tokens/a", t0); !ok {
		t.Error("a call whose clock was read 10 ms before another's, taken after it: refused, with 9 of 10 calls in hand")
	}
	allowed := 0
	for range 10 {
		if ok, _ := l.allow("tokens/a", t0.Add(10*time.Millisecond)); ok {
			allowed++
		}
	}
	if allowed != 8 {
		t.Errorf("after 2 of a burst of 10 at once, %d more allowed, want 8", allowed)
	}
}
