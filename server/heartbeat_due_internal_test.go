package server

import (
	"testing"
	"time"
)

// A stream is looked at every DefaultWatchProgress (5 s), and its last
// response went just after a look: at the look 30 s on it has been silent
// a hair under 30 s. Sent a heartbeat only once silent 30 s, it waited for
// the next look, 35 s in all, while events.proto and the README promise
// one at least every 30 s and tell operators that a proxy's idle timeout
// over 30 s never cuts a watch (HAProxy's timeout server 31s did).
func TestHeartbeatDue(t *testing.T) {
	const p, hb = DefaultWatchProgress, DefaultWatchHeartbeat
	for _, tc := range []struct {
		silent time.Duration
		due    bool
	}{
		{0, false},
		{20 * time.Second, false},
		{25*time.Second - time.Millisecond, false}, // the next look, under 30 s silent, still in time
		{30*time.Second - time.Millisecond, true},  // the next look would be 35 s silent
		{30 * time.Second, true},
		{time.Hour, true},
	} {
		if got := heartbeatDue(tc.silent, p, hb); got != tc.due {
			t.Errorf("silent %v, looked at every %v: heartbeat due %v, want %v", tc.silent, p, got, tc.due)
		}
		// Whatever the timings, the silence never reaches past heartbeat
		// before the next look.
		if !heartbeatDue(tc.silent, p, hb) && tc.silent+p > hb {
			t.Errorf("silent %v: not due, and the next look comes %v silent", tc.silent, tc.silent+p)
		}
	}
}
