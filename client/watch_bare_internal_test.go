package client_test

import (
	"context"
	"testing"
	"time"

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
// and gives up after GiveUpAfter, rather than every 100 ms for ever, each
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "")); err != nil {
		t.Fatal(err)
	}
	err := c.Watch(ctx, client.WatchOptions{StartRevision: 1, GiveUpAfter: 300 * time.Millisecond}, func(*pb.WatchEventsResponse) error { return nil })
	n := len(cut.starts())
	if status.Code(err) != codes.Internal || ctx.Err() != nil {
		t.Fatalf("Watch returned %v after %d streams, want the INTERNAL once GiveUpAfter had passed", err, n)
	}
	if n < 2 {
		t.Errorf("%d streams opened, want the fault asked again before giving up", n)
	}
}
