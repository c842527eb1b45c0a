package client_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/doorstep-aid/doorstep/client"
)

// TestImportFitsAServerLimitItWasNotTold: the operator started the server
// with --max-recv-bytes 262144, and the food bank's nightly import, which
// follows the package docs but was never told, sends batches made for the
// default 1 MiB. The server's gRPC refuses each with RESOURCE_EXHAUSTED
// before reading it ("grpc: received message larger than max"), which
// ended the whole import with gRPC's own words and nothing stored. The
// client now sends such a batch again in halves, and a row that alone is
// too big fails as ROW_TOO_LARGE, saying so, while the rest are stored.
func TestImportFitsAServerLimitItWasNotTold(t *testing.T) {
	const serverLimit = 256 << 10
	var b batches
	s := newTestServer(t, b.option(), grpc.MaxRecvMsgSize(serverLimit))
	c := s.client(t)
	rows := partnerRows(300, nil)
	for _, r := range rows {
		r.Details = strings.Repeat("€", 1000) // 3 KB, 900 KB in all
	}
	rows[7].Requester.DisplayName = strings.Repeat("x", 300<<10)
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatalf("import stopped: %s", client.Describe(err))
	}
	if len(results) != len(rows) {
		t.Fatalf("%d results for %d rows", len(results), len(rows))
	}
	for i, r := range results {
		switch {
		case r.GetIndex() != int32(i):
			t.Errorf("result %d has index %d", i, r.GetIndex())
		case i == 7:
			msg := client.DescribeRow(r.GetError())
			if r.GetError().GetReason() != client.ReasonRowTooLarge || strings.Contains(msg, "grpc:") {
				t.Errorf("row 7, alone over the server's limit: %q, want %s in plain words", msg, client.ReasonRowTooLarge)
			}
		case r.GetError() != nil:
			t.Errorf("row %d: %s", i, client.DescribeRow(r.GetError()))
		}
	}
	if got := s.countStored(t); got != len(rows)-1 {
		t.Errorf("%d stored, want %d", got, len(rows)-1)
	}
	_, sizes := b.take()
	for i, size := range sizes {
		if size > serverLimit {
			t.Errorf("call %d of %d bytes reached the handler over a %d byte limit", i, size, serverLimit)
		}
	}
}
