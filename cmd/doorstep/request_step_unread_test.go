package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRequestStepAskedAgainWhenTheRequestCannotBeRead: request cancel,
// fulfil or release whose first answer came too late asks again, meets the
// request in the state the step leaves, and reads it to say what became of
// it. When that read failed (the server stopping, a network blip) the
// worker was told "Not cancelled: ... is cancelled already", exit 1, their
// own step read as a failure, and --json printed nothing. They are told
// it is done, and where to look for the rest.
func TestRequestStepAskedAgainWhenTheRequestCannotBeRead(t *testing.T) {
	for _, tc := range []struct {
		step, method string
		state        pb.HelpRequest_State
		stdout       string
	}{
		{"cancel", pb.MatchingService_CancelHelpRequest_FullMethodName, pb.HelpRequest_STATE_CANCELLED, " is now cancelled"},
		{"fulfil", pb.MatchingService_CompleteHelpRequest_FullMethodName, pb.HelpRequest_STATE_FULFILLED, " is now fulfilled"},
		{"release", pb.MatchingService_ReleaseHelpRequest_FullMethodName, pb.HelpRequest_STATE_OPEN, " is handed back: it is open again"},
	} {
		for _, asJSON := range []bool{false, true} {
			t.Run(tc.step+map[bool]string{true: "/json"}[asJSON], func(t *testing.T) {
				f := &firstAnswerLost{method: tc.method}
				var unreadable atomic.Bool
				e := newTestEnvWith(t, f.option(), grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
					if unreadable.Load() && info.FullMethod == pb.HelpRequestService_GetHelpRequest_FullMethodName {
						return nil, status.Error(codes.Unavailable, "test: the server is stopping")
					}
					return h(ctx, req)
				}))
				e.env["DOORSTEP_TOKEN"] = e.coordinator
				callum, _ := e.addVolunteers()
				req := e.newRequest()
				e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
				unreadable.Store(true)
				args := []string{"request", tc.step, req}
				if asJSON {
					args = append(args, "--json")
				}
				r := e.run(args...)
				if r.code != exitOK || strings.Contains(r.stderr, "Not ") {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0, and no refusal", r.code, r.stdout, r.stderr)
				}
				if asJSON {
					var m map[string]any
					if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || m["state"] != tc.state.String() || !strings.HasSuffix(fmt.Sprint(m["name"]), idOf(req)) {
						t.Errorf("stdout %q: want one JSON object, %v (%v)", r.stdout, tc.state, err)
					}
				} else if !strings.Contains(r.stdout, tc.stdout) {
					t.Errorf("stdout %q; want %q", r.stdout, tc.stdout)
				}
			})
		}
	}
}

// TestRequestStepAskedAgainReadsBackAsLongAsItAsked: on a slow disk the
// read after the second ask is itself a commit (an audited read), which
// --timeout (2 s against commits of 4 s) did not wait for: the worker who
// cancelled was not told whom to tell not to come. The read waits as long
// as the second ask did.
func TestRequestStepAskedAgainReadsBackAsLongAsItAsked(t *testing.T) {
	f := &firstAnswerLost{method: pb.MatchingService_CancelHelpRequest_FullMethodName}
	var slowReads atomic.Bool
	e := newTestEnvWith(t, f.option(), grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if slowReads.Load() && info.FullMethod == pb.HelpRequestService_GetHelpRequest_FullMethodName {
			// An audited read's commit takes 4 s: a caller waiting less
			// gets no answer.
			if d, ok := ctx.Deadline(); !ok || time.Until(d) < 4*time.Second {
				return nil, status.Error(codes.DeadlineExceeded, "test: the read's commit outlasted the wait")
			}
		}
		return h(ctx, req)
	}))
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", req, callum), "offers"))
	slowReads.Store(true)
	r := e.run("--timeout", "2s", "request", "cancel", req)
	if r.code != exitOK || !strings.Contains(r.stdout, "is now cancelled") || !strings.Contains(r.stdout, "Tell Callum") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0, cancelled, and whom to tell", r.code, r.stdout, r.stderr)
	}
}
