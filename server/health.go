package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// drainingHealth is the standard health service but for its Watch, which
// ends when the server drains (Drain). A load balancer or a client with
// health checking holds a watch for as long as it is connected, and the
// standard one ends only with its stream: a graceful stop would wait on
// it for the whole shutdown timeout, then cancel it as if work had been
// cut off.
type drainingHealth struct {
	*health.Server
	draining <-chan struct{}
}

func (h drainingHealth) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Server.Watch(req, ctxWatch{stream, ctx}) }()
	select {
	case err := <-done:
		return err
	case <-h.draining:
	}
	cancel()
	<-done
	// The NOT_SERVING that health.Shutdown sent may have been cut off
	// with the watch: said twice, it means no more than once.
	_ = stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING})
	return statusWith(codes.Unavailable, ReasonShuttingDown, "the server is shutting down", nil)
}

// ctxWatch is a health watch's stream under a context of its own, which
// drainingHealth ends at Drain.
type ctxWatch struct {
	healthpb.Health_WatchServer
	ctx context.Context
}

func (w ctxWatch) Context() context.Context { return w.ctx }
