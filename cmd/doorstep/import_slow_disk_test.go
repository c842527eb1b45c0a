package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestImportWaitsForABatchOnASlowDisk: a batch of 500 rows takes some 32
// commits of the data file; where each commit waits a second for its
// fsync (an SD card, a network disk past its burst quota) that is more
// than the 30 s other commands wait, and every import stopped at its
// first batch, to be run again once for each. Without --timeout the
// import waits as long as such a batch needs; a --timeout given is kept.
func TestImportWaitsForABatchOnASlowDisk(t *testing.T) {
	const batchTakes = time.Minute // what the server needs for one batch
	opt := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod != pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName {
			return h(ctx, req)
		}
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) < batchTakes {
			return nil, status.Error(codes.DeadlineExceeded, "test: the batch's commits outlast the caller's wait")
		}
		return h(ctx, req)
	})
	e := newTestEnvWith(t, opt)
	var rows strings.Builder
	rows.WriteString(importHeader)
	for i := range 3 {
		fmt.Fprintf(&rows, "ref-%d,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam %d,07700 90%04d\n", i, i, 700+i)
	}
	file := writeImportFile(t, "nightly.csv", rows.String())
	if r := e.run("import", file, "--org", org, "--timeout", "10s"); r.code != exitUnreachable || !strings.Contains(r.stderr, "did not answer within 10s") {
		t.Errorf("import --timeout 10s: exit %d, stderr %q; want the timeout kept to", r.code, r.stderr)
	}
	if r := e.run("import", file, "--org", org); r.code != exitOK {
		t.Errorf("import: exit %d, stdout %q, stderr %q; want it to wait for the batch", r.code, r.stdout, r.stderr)
	}
	if got := len(e.storedRequests(store.HelpRequestFilter{})); got != 3 {
		t.Errorf("%d stored, want 3", got)
	}
}
