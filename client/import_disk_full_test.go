package client_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// diskFillsAt is a server whose disk fills after it has stored the first
// stored rows of an import: each row after is refused, as the server
// refuses every write then (RESOURCE_EXHAUSTED, STORAGE_FULL).
func diskFillsAt(stored int, calls *atomic.Int32) grpc.ServerOption {
	var left atomic.Int32
	left.Store(int32(stored))
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		r, ok := req.(*pb.BatchCreateHelpRequestsRequest)
		if !ok {
			return h(ctx, req)
		}
		calls.Add(1)
		fit := min(int(max(left.Load(), 0)), len(r.HelpRequests))
		left.Add(-int32(fit))
		rest := r.HelpRequests[fit:]
		resp := &pb.BatchCreateHelpRequestsResponse{}
		if fit > 0 {
			out, err := h(ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: r.HelpRequests[:fit]})
			if err != nil {
				return nil, err
			}
			resp = out.(*pb.BatchCreateHelpRequestsResponse)
		}
		for j := range rest {
			resp.Results = append(resp.Results, &pb.BatchCreateHelpRequestsResult{Index: int32(fit + j), Error: &pb.RowError{
				Code: "RESOURCE_EXHAUSTED", Reason: client.ReasonStorageFull,
				Message: "the server's disk is full, so this was not done and nothing was changed: tell whoever runs the server, and try again once they have freed space",
			}})
		}
		return resp, nil
	})
}

// A partner's nightly import of 1,200 rows meets a server whose disk
// fills part-way through its first batch. Every later batch would be
// refused row by row as well, each row a failed write on the full disk
// and an error in the server's log: the import stops after the batch that
// met it, says the disk is full, and running it again once space is freed
// finishes it.
func TestImportStopsAtAFullDisk(t *testing.T) {
	var calls atomic.Int32
	s := newTestServer(t, diskFillsAt(250, &calls))
	c := s.client(t)
	rows := partnerRows(1200, nil)
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if got := calls.Load(); got != 1 {
		t.Errorf("%d batches sent to a server whose disk is full, want 1", got)
	}
	if client.Reason(err) != client.ReasonStorageFull || !strings.Contains(client.Describe(err), "disk is full") {
		t.Fatalf("import onto a full disk: %v (%q), want %s", err, client.Describe(err), client.ReasonStorageFull)
	}
	if len(results) != 500 {
		t.Fatalf("%d results, want the 500 of the batch sent", len(results))
	}
	for i, r := range results {
		switch {
		case int(r.GetIndex()) != i:
			t.Errorf("result %d has index %d", i, r.GetIndex())
		case i < 250 && r.GetError() != nil:
			t.Errorf("row %d, stored: %s", i, client.DescribeRow(r.GetError()))
		case i >= 250 && r.GetError().GetReason() != client.ReasonStorageFull:
			t.Errorf("row %d, refused: %v", i, r.GetError())
		}
	}
}
