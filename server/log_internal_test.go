package server

import (
	"context"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// ctxStream is just enough of a stream for the interceptor.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c ctxStream) Context() context.Context { return c.ctx }

// openMethod is a method that needs no token: logCalls authenticates the
// call before it reaches the handler.
const openMethod = healthpb.Health_Check_FullMethodName

// TestPanicBecomesInternal checks that a handler's panic, unary or
// streaming, answers INTERNAL and is logged, instead of killing the server.
func TestPanicBecomesInternal(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	s := &Server{logger: zap.New(core)}
	resp, err := s.logCalls(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: openMethod},
		func(context.Context, any) (any, error) { panic("boom") })
	if resp != nil || status.Code(err) != codes.Internal {
		t.Errorf("unary panic: %v %v", resp, err)
	}
	reached := false
	err = s.logStreams(nil, ctxStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: "/t/Stream"},
		func(any, grpc.ServerStream) error { reached = true; panic("boom") })
	if !reached {
		t.Error("the stream handler was not called")
	}
	if status.Code(err) != codes.Internal {
		t.Errorf("stream panic: %v", err)
	}
	if n := logs.FilterMessage("panic in handler").Len(); n != 2 {
		t.Errorf("%d panics logged, want 2", n)
	}
	// A handler's own error passes through with its code, logged at debug.
	_, err = s.logCalls(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: openMethod},
		func(context.Context, any) (any, error) { return "ignored", status.Error(codes.NotFound, "x") })
	if status.Code(err) != codes.NotFound {
		t.Errorf("error: %v", err)
	}
	for _, e := range logs.FilterMessage("call").All() {
		if code := e.ContextMap()["code"]; code == "NotFound" && e.Level != zapcore.DebugLevel {
			t.Errorf("NotFound logged at %v", e.Level)
		}
	}
}
