package client

import (
	"testing"
	"time"

	"google.golang.org/grpc/keepalive"
)

// SetKeepaliveForTest has connections dialled during t ping after every
// of quiet and give up after timeout without an answer. gRPC pings no more
// often than every 10s, whatever it is asked.
func SetKeepaliveForTest(t *testing.T, every, timeout time.Duration) {
	saved := keepaliveParams
	keepaliveParams = keepalive.ClientParameters{Time: every, Timeout: timeout}
	t.Cleanup(func() { keepaliveParams = saved })
}
