package client_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestRateLimitedCallsAreWaitedOut: a food bank's nightly job imports its
// list, then reads each request back and cancels those its own records
// say are no longer needed, as fast as the server answers. The server
// holds each token to its call rate (by default 100 a second after a
// burst of 200; here a burst of 10, to need fewer calls) and turns the
// rest away with RESOURCE_EXHAUSTED (RATE_LIMITED) before running them,
// telling the caller to slow down and retry: the client waits and retries
// such a call, whatever it is, rather than ending the job at its first
// call over the burst.
func TestRateLimitedCallsAreWaitedOut(t *testing.T) {
	s := newTestServer(t)
	s.serverOpts = []server.Option{server.WithRateLimit(server.DefaultRate, 10)}
	if err := s.restart(); err != nil {
		t.Fatal(err)
	}
	secret, hash, err := server.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	_, err = s.st.CreateToken(context.Background(), &pb.Token{DisplayName: "nightly import", Role: pb.Role_ROLE_PARTNER, Organisation: "torry-food-bank"}, hash, false)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	limited := map[string]int{}
	countLimited := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if client.Reason(err) == server.ReasonRateLimited {
			mu.Lock()
			limited[method]++
			mu.Unlock()
		}
		return err
	})
	c, err := s.dial(client.WithToken(secret), client.WithDialOptions(countLimited)) // the default retries
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	rows := partnerRows(60, nil)
	results, err := c.ImportHelpRequests(ctx, rows)
	if err != nil {
		t.Fatal(client.Describe(err))
	}
	for i, r := range results {
		if r.GetError() != nil {
			t.Fatalf("row %d: %s", i, client.DescribeRow(r.GetError()))
		}
	}
	// The job reads its rows back side by side, as a job with workers
	// would: 60 calls at once are over a burst of 10 however slowly the
	// machine answers each (one after another, on a machine loaded enough
	// that each took over 10 ms, none was ever over the rate).
	read := make([]*pb.HelpRequest, len(results))
	var wg sync.WaitGroup
	errs := make([]error, len(results))
	for i, r := range results {
		wg.Go(func() { read[i], errs[i] = c.GetHelpRequest(ctx, r.GetHelpRequest().GetName()) })
	}
	wg.Wait()
	for i := range read {
		if errs[i] != nil {
			t.Fatalf("reading back row %d: %s", i, client.Describe(errs[i]))
		}
	}
	// Then it cancels them all, side by side too (every third, 20 calls,
	// were not over the burst on a machine loaded enough that they came
	// over more than 100 ms). A cancel is not retried after UNAVAILABLE,
	// but one turned away for the rate never ran: sending it again cancels
	// once.
	for i, hr := range read {
		wg.Go(func() {
			_, errs[i] = c.Matching.CancelHelpRequest(ctx, &pb.CancelHelpRequestRequest{Name: hr.GetName()})
		})
	}
	wg.Wait()
	for i := range read {
		if errs[i] != nil {
			t.Fatalf("cancelling row %d: %s", i, client.Describe(errs[i]))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range []string{pb.HelpRequestService_GetHelpRequest_FullMethodName, pb.MatchingService_CancelHelpRequest_FullMethodName} {
		if limited[m] == 0 {
			t.Fatalf("the server never turned a %s away: the test needs more calls (turned away: %v)", m, limited)
		}
	}
}
