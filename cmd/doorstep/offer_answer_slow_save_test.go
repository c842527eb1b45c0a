package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// firstAnswerLost makes each call of method and loses the first answer,
// as on a slow disk the command stops waiting while the commit it began
// goes on, and the step is made all the same.
type firstAnswerLost struct {
	method string
	mu     sync.Mutex
	calls  int
}

func (f *firstAnswerLost) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod != f.method {
			return h(ctx, req)
		}
		f.mu.Lock()
		f.calls++
		n := f.calls
		f.mu.Unlock()
		resp, err := h(ctx, req)
		if n == 1 {
			return nil, status.Error(codes.DeadlineExceeded, "test: the answer came after the command gave up")
		}
		return resp, err
	})
}

// TestOfferAnswerWhoseAnswerCameTooLate: offer accept or decline on a slow
// disk whose answer did not come within --timeout said "Try again", and
// the step, made all the same, then refused the second: "Not declined:
// offers/X is declined already", exit 1, the worker's own answer read as a
// failure or as someone else's. It asks once more itself, and says the
// offer is declined (accepted), as it is.
func TestOfferAnswerWhoseAnswerCameTooLate(t *testing.T) {
	for _, tc := range []struct {
		step, method string
		state        pb.Offer_State
		stdout       string
	}{
		{"accept", pb.MatchingService_AcceptOffer_FullMethodName, pb.Offer_STATE_ACCEPTED, " is accepted: "},
		{"decline", pb.MatchingService_DeclineOffer_FullMethodName, pb.Offer_STATE_DECLINED, " is declined: "},
	} {
		t.Run(tc.step, func(t *testing.T) {
			f := &firstAnswerLost{method: tc.method}
			e := newTestEnvWith(t, f.option())
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			callum, _ := e.addVolunteers()
			offer := firstName(t, e.ok("offer", "make", e.newRequest(), callum), "offers")
			r := e.run("offer", tc.step, offer)
			if r.code != exitOK || !strings.Contains(r.stdout, tc.stdout) || strings.Contains(r.stderr, "Try again") || strings.Contains(r.stderr, "Not ") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and %q, neither a refusal nor an invitation to try again", r.code, r.stdout, r.stderr, tc.stdout)
			}
			f.mu.Lock()
			calls := f.calls
			f.mu.Unlock()
			if calls != 2 {
				t.Errorf("asked %d times; want twice", calls)
			}
			if got := e.ok("offer", "list", "--request", firstName(t, e.ok("offer", "list", "--json"), "helpRequests"), "--json"); !strings.Contains(got, tc.state.String()) {
				t.Errorf("offer list says %s; want %v", got, tc.state)
			}
		})
	}
}

// TestRequestStepWhoseAnswerCameTooLate: request cancel, fulfil or release
// on a slow disk whose answer did not come within --timeout said "Try
// again", and the step, made all the same, refused the second: "Not
// cancelled: ... is cancelled already", or for a release "Not released:
// ... is open: nobody has it to hand back", exit 1. Each asks once more
// itself, and says what became of the request.
func TestRequestStepWhoseAnswerCameTooLate(t *testing.T) {
	for _, tc := range []struct {
		step, method string
		state        pb.HelpRequest_State
		stdout       string
	}{
		{"cancel", pb.MatchingService_CancelHelpRequest_FullMethodName, pb.HelpRequest_STATE_CANCELLED, " is now cancelled"},
		{"fulfil", pb.MatchingService_CompleteHelpRequest_FullMethodName, pb.HelpRequest_STATE_FULFILLED, " is now fulfilled"},
		{"release", pb.MatchingService_ReleaseHelpRequest_FullMethodName, pb.HelpRequest_STATE_OPEN, " is open again, and Callum"},
	} {
		t.Run(tc.step, func(t *testing.T) {
			f := &firstAnswerLost{method: tc.method}
			e := newTestEnvWith(t, f.option())
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			callum, _ := e.addVolunteers()
			req := e.newRequest()
			e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
			r := e.run("request", tc.step, req)
			if r.code != exitOK || !strings.Contains(r.stdout, tc.stdout) || strings.Contains(r.stderr, "Try again") || strings.Contains(r.stderr, "Not ") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and %q, neither a refusal nor an invitation to try again", r.code, r.stdout, r.stderr, tc.stdout)
			}
			f.mu.Lock()
			calls := f.calls
			f.mu.Unlock()
			if calls != 2 {
				t.Errorf("asked %d times; want twice", calls)
			}
			if got := e.ok("request", "show", req, "--json"); !strings.Contains(got, tc.state.String()) {
				t.Errorf("request show says %s; want %v", got, tc.state)
			}
		})
	}
}
