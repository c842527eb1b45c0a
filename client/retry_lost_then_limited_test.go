package client

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRetryLostThenRateLimitedSaysLost: an idempotent call whose reply
// was lost (UNAVAILABLE: it may have run) is sent again, and the retries
// are turned away for the call rate. The call returned the rate's error,
// which says the server ran nothing, and an import reported a stored batch
// as not sent. It returns the lost reply's error: it may have run.
func TestRetryLostThenRateLimitedSaysLost(t *testing.T) {
	limited, _ := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.ErrorInfo{Reason: ReasonRateLimited, Domain: "doorstep.v1"})
	o := options{retries: 3, backoff: time.Millisecond}
	n := 0
	invoker := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		if n++; n == 1 {
			return status.Error(codes.Unavailable, "reply lost")
		}
		return limited.Err()
	}
	err := o.unary(context.Background(), pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName,
		&pb.BatchCreateHelpRequestsRequest{}, &pb.BatchCreateHelpRequestsResponse{}, nil, invoker)
	if n != 4 || status.Code(err) != codes.Unavailable {
		t.Errorf("after %d attempts got %v, want UNAVAILABLE after 4", n, err)
	}
	// Turned away for the rate from the first, it ran nowhere: said so.
	n = 1
	err = o.unary(context.Background(), pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName,
		&pb.BatchCreateHelpRequestsRequest{}, &pb.BatchCreateHelpRequestsResponse{}, nil, invoker)
	if !rateLimited(err) {
		t.Errorf("got %v, want the rate's error", err)
	}
}
