package client

import (
	"context"
	"testing"
	"time"
)

func TestDelayDoublesWithJitterAndCap(t *testing.T) {
	o := options{backoff: 100 * time.Millisecond}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000} {
		want *= time.Millisecond
		var lo, hi time.Duration = want, 0
		for range 200 {
			d := o.delay(attempt)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < want/2 || hi > want {
			t.Errorf("attempt %d: delays from %v to %v, want within [%v, %v]", attempt, lo, hi, want/2, want)
		}
		if lo == hi {
			t.Errorf("attempt %d: every delay was %v: no jitter", attempt, lo)
		}
	}
	if d := (options{}).delay(0); d < defaultBackoff/2 || d > defaultBackoff {
		t.Errorf("with no base set, first delay %v, want about %v", d, defaultBackoff)
	}
}

func TestSleepStopsForContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if sleep(ctx, time.Minute) {
		t.Error("sleep reported a full wait after cancel")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("sleep took %v after cancel", took)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start = time.Now()
	if sleep(ctx, time.Minute) || time.Since(start) > 100*time.Millisecond {
		t.Error("sleep past the deadline did not return at once")
	}
	if !sleep(context.Background(), time.Millisecond) {
		t.Error("a short sleep did not complete")
	}
}
