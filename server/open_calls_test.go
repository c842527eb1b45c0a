package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/server"
)

// TestCallsWithoutTokenBoundedPerConnection: health checks need no token,
// and a connection could hold a thousand at once, each a goroutine, each
// a health watch for as long as it liked, or a check whose message never
// finished, held as far as it had come: 300 checks sent all of a 1 MiB
// message but its last byte took doorstepd from 35 MB to 355 MB, with no
// token. A connection may now hold MaxOpenCallsPerConn calls without a
// token at once, far more than a load balancer's or a client's health
// checking needs; the next is refused, and other connections' are not.
func TestCallsWithoutTokenBoundedPerConnection(t *testing.T) {
	h := newHarness(t)
	hostile := h.dial()
	// The bound only keeps a call the server waits on from hanging the
	// test.
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	for i := range server.MaxOpenCallsPerConn {
		method := healthpb.Health_Check_FullMethodName
		if i%2 == 1 {
			method = healthpb.Health_Watch_FullMethodName
		}
		// Headers, and a message that never comes.
		if _, err := hostile.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method); err != nil {
			t.Fatal(err)
		}
	}
	for _, method := range []string{healthpb.Health_Check_FullMethodName, healthpb.Health_Watch_FullMethodName} {
		s, err := hostile.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RecvMsg(new(healthpb.HealthCheckResponse)); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("%s past %d open on one connection: %v, want RESOURCE_EXHAUSTED", method, server.MaxOpenCallsPerConn, err)
		}
	}
	// A load balancer on a connection of its own is answered.
	if r, err := healthpb.NewHealthClient(h.dial()).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health check on another connection: %v, %v", r, err)
	}
}
