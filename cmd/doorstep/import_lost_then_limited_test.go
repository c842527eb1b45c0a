package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestImportLostThenRateLimitedIsUnconfirmed: a nightly import's batch
// is stored, its reply lost; the client sends it again, and the server,
// busy with the import, turns the retries away for the token's call rate.
// The import reported the batch's rows not sent, as if the server had
// refused them before reading a row, though every one was stored: a
// script reconciling the report sends them by some other way, and each
// caller is down twice. A batch that may have been stored is unconfirmed,
// whatever its last retry was told.
func TestImportLostThenRateLimitedIsUnconfirmed(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	opt := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod != pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName {
			return h(ctx, req)
		}
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			if _, err := h(ctx, req); err != nil {
				return nil, err
			}
			return nil, status.Error(codes.Unavailable, "test: reply lost")
		}
		st, _ := status.New(codes.ResourceExhausted, "test: too many calls, slow down").
			WithDetails(&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: "doorstep.v1"})
		return nil, st.Err()
	})
	e := newTestEnvWith(t, opt)
	var rows strings.Builder
	rows.WriteString(importHeader)
	for i := range 3 {
		fmt.Fprintf(&rows, "ref-%d,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam %d,07700 90%04d\n", i, i, 700+i)
	}
	file := writeImportFile(t, "nightly.csv", rows.String())
	r := e.run("import", file, "--org", org, "--json")
	if r.code == 0 {
		t.Fatalf("exit 0; stderr %q", r.stderr)
	}
	if got := len(e.storedRequests(store.HelpRequestFilter{})); got != 3 {
		t.Fatalf("%d stored, want the 3 of the batch whose reply was lost", got)
	}
	got := importReport(t, r)
	if len(got) != 3 {
		t.Fatalf("report %+v, want 3 rows", got)
	}
	for _, o := range got {
		if o.Outcome != "unconfirmed" {
			t.Errorf("line %d is reported %q, want unconfirmed: it was stored, its reply lost", o.Line, o.Outcome)
		}
	}
}
