package client

import (
	"context"

	"google.golang.org/grpc"
)

// unary applies the call timeout and retries idempotent calls.
// TODO(helper): retries with backoff on UNAVAILABLE for idempotent methods.
func (o options) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok && o.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.callTimeout)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, callOpts...)
}

func (o options) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(ctx, desc, cc, method, callOpts...)
}
