package client_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// A bare INTERNAL that ends every stream as soon as it has answered, the
// same event never delivered, is no proxy cutting an idle stream (which
// waits out its timeout first): it is a fault that comes again, such as
// the server's own INTERNAL behind a proxy that drops its details, or an
// event the client cannot decode. The watch asks again with growing waits
// and ends with it after a few, however long GiveUpAfter allows (doorstep
// watch's is for ever), rather than asking every 100 ms for ever, each
// time saying it lost and regained the connection, and costing the server
// a stream and an error line.
func TestWatchGivesUpOnRepeatedBareInternal(t *testing.T) {
	plan := make([]ending, 100000)
	for i := range plan {
		plan[i] = endProxyReset
	}
	cut := &cutter{after: 1, plan: plan}
	s := newTestServer(t, cut.option())
	c := s.client(t)
	err := watchUntilEnded(t, c)
	n := len(cut.starts())
	if status.Code(err) != codes.Internal {
		t.Fatalf("Watch returned %v after %d streams, want the INTERNAL after a few", err, n)
	}
	if n < 2 || n > 10 {
		t.Errorf("%d streams opened, want the fault asked again a few times before giving up", n)
	}
}

// failAfterFirst lets the first WatchEvents stream through and ends every
// later one at once, before it answers, with a bare INTERNAL.
type failAfterFirst struct{ n atomic.Int32 }

func (f *failAfterFirst) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != pb.EventService_WatchEvents_FullMethodName || f.n.Add(1) == 1 {
		return handler(srv, ss)
	}
	return status.Error(codes.Internal, "grpc: error while marshaling: test")
}

// The same fault on a reconnect, before the new stream answers: no proxy
// cuts a stream before the server's first response, which comes at once,
// so it ends the watch after a few as well, where doorstep watch asked
// again every 5 s for ever.
func TestWatchGivesUpOnBareInternalBeforeAnswer(t *testing.T) {
	fail := &failAfterFirst{}
	cut := &cutter{after: 1, plan: []ending{endUnavailable}}
	s := newTestServer(t, grpc.ChainStreamInterceptor(fail.stream), cut.option())
	c := s.client(t)
	err := watchUntilEnded(t, c)
	n := fail.n.Load()
	if status.Code(err) != codes.Internal {
		t.Fatalf("Watch returned %v after %d streams, want the INTERNAL after a few", err, n)
	}
	if n < 3 || n > 10 {
		t.Errorf("%d streams opened, want the fault asked again a few times before giving up", n)
	}
}

// watchUntilEnded stores a request and watches from revision 1, never
// giving up, until the watch ends or 20 s pass (which ends it CANCELED),
// and returns how it ended. Cancelled rather than given a deadline: Watch
// gives up at once on a wait that would outlast a deadline.
func watchUntilEnded(t *testing.T, c *client.Client) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer time.AfterFunc(20*time.Second, cancel).Stop()
	if _, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "")); err != nil {
		t.Fatal(err)
	}
	return c.Watch(ctx, client.WatchOptions{StartRevision: 1, GiveUpAfter: -1}, func(*pb.WatchEventsResponse) error { return nil })
}
