package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// batches records the size of every BatchCreateHelpRequests call.
type batches struct {
	mu    sync.Mutex
	rows  []int
	bytes []int
}

func (b *batches) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if r, ok := req.(*pb.BatchCreateHelpRequestsRequest); ok {
			b.mu.Lock()
			b.rows = append(b.rows, len(r.HelpRequests))
			b.bytes = append(b.bytes, proto.Size(r))
			b.mu.Unlock()
		}
		return h(ctx, req)
	})
}

func (b *batches) take() (rows, bytes []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rows, bytes, b.rows, b.bytes = b.rows, b.bytes, nil, nil
	return rows, bytes
}

// partnerRows is n rows from a food bank's records, with bad rows at the
// positions in bad: an unknown postcode, or no external_id.
func partnerRows(n int, bad map[int]bool) []*pb.HelpRequest {
	rows := make([]*pb.HelpRequest, n)
	for i := range rows {
		rows[i] = helpRequest("torry-food-bank", fmt.Sprintf("tfb-%05d", i))
		if bad[i] {
			if i%2 == 0 {
				rows[i].Location.Postcode = "AB10 9ZZ"
			} else {
				rows[i].ExternalId = ""
			}
		}
	}
	return rows
}

func TestImportHelpRequestsInBatchesAndAgain(t *testing.T) {
	var b batches
	s := newTestServer(t, b.option())
	c := s.client(t)
	ctx := context.Background()
	bad := map[int]bool{0: true, 7: true, 499: true, 500: true, 1100: true, 1202: true}
	const n = 1203
	rows := partnerRows(n, bad)

	results, err := c.ImportHelpRequests(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := b.take(); fmt.Sprint(rows) != "[500 500 203]" {
		t.Errorf("batches of %v rows, want [500 500 203]", rows)
	}
	checkResults(t, results, n, bad, false)
	if got := s.countStored(t); got != n-len(bad) {
		t.Errorf("%d stored, want %d", got, n-len(bad))
	}
	if rows[0].GetName() != "" {
		t.Error("the caller's rows were changed")
	}

	// The same file again creates nothing.
	again, err := c.ImportHelpRequests(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, again, n, bad, true)
	for i, r := range again {
		if !bad[i] && r.GetHelpRequest().GetName() != results[i].GetHelpRequest().GetName() {
			t.Errorf("row %d: second run returned %s, first %s", i, r.GetHelpRequest().GetName(), results[i].GetHelpRequest().GetName())
		}
	}
	if got := s.countStored(t); got != n-len(bad) {
		t.Errorf("%d stored after the second run, want %d", got, n-len(bad))
	}
}

func checkResults(t *testing.T, results []*pb.BatchCreateHelpRequestsResult, n int, bad map[int]bool, existing bool) {
	t.Helper()
	if len(results) != n {
		t.Fatalf("%d results for %d rows", len(results), n)
	}
	for i, r := range results {
		switch {
		case int(r.GetIndex()) != i:
			t.Errorf("result %d has index %d", i, r.GetIndex())
		case bad[i] && r.GetError() == nil:
			t.Errorf("bad row %d was not reported", i)
		case bad[i] && i%2 == 0 && r.GetError().GetReason() != "UNKNOWN_POSTCODE":
			t.Errorf("row %d: %v, want UNKNOWN_POSTCODE", i, r.GetError())
		case bad[i] && i%2 == 1 && !strings.Contains(client.DescribeRow(r.GetError()), "external_id"):
			t.Errorf("row %d: %q does not name external_id", i, client.DescribeRow(r.GetError()))
		case !bad[i] && r.GetError() != nil:
			t.Errorf("row %d failed: %v", i, r.GetError())
		case !bad[i] && r.GetExisting() != existing:
			t.Errorf("row %d: existing = %v, want %v", i, r.GetExisting(), existing)
		case !bad[i] && r.GetHelpRequest().GetExternalId() != fmt.Sprintf("tfb-%05d", i):
			t.Errorf("row %d holds %q", i, r.GetHelpRequest().GetExternalId())
		}
	}
}

// Rows near the size limit are split so each call fits the server's
// default 1 MiB limit, which would refuse 500 of them at once.
func TestImportHelpRequestsSplitsBySize(t *testing.T) {
	var b batches
	s := newTestServer(t, b.option())
	c := s.client(t)
	rows := partnerRows(600, nil)
	for _, r := range rows {
		r.Details = strings.Repeat("€", 2000) // 6000 bytes, at the limit of 2000 characters
	}
	if total := proto.Size(&pb.BatchCreateHelpRequestsRequest{HelpRequests: rows[:500]}); total <= client.DefaultMaxRequestBytes {
		t.Fatalf("500 rows are %d bytes: the test needs more than the limit", total)
	}
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, results, len(rows), nil, false)
	counts, sizes := b.take()
	if len(counts) < 4 {
		t.Errorf("%d calls, want at least 4 for 600 rows of 6 KB", len(counts))
	}
	for i, size := range sizes {
		if size > client.DefaultMaxRequestBytes {
			t.Errorf("call %d was %d bytes", i, size)
		}
	}

	// A smaller server limit, given to the client; a row that alone is
	// too big is reported without being sent.
	c2 := s.client(t, client.WithMaxRequestBytes(64<<10))
	rows = partnerRows(40, nil)
	for _, r := range rows {
		r.ExternalId = "small-" + r.ExternalId
		r.Details = strings.Repeat("€", 2000)
	}
	rows[5].Requester.DisplayName = strings.Repeat("x", 70<<10)
	results, err = c2.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	if got := results[5].GetError().GetReason(); got != client.ReasonRowTooLarge || results[5].GetIndex() != 5 {
		t.Errorf("row 5: %v, want %s", results[5], client.ReasonRowTooLarge)
	}
	for i, r := range results {
		if i != 5 && (r.GetError() != nil || r.GetIndex() != int32(i)) {
			t.Errorf("row %d: %v", i, r)
		}
	}
	_, sizes = b.take()
	for i, size := range sizes {
		if size > 64<<10 {
			t.Errorf("call %d was %d bytes, over the 64 KiB limit", i, size)
		}
	}
	if len(sizes) < 4 {
		t.Errorf("%d calls, want at least 4 for 39 rows of 6 KB in 64 KiB", len(sizes))
	}
}

// A batch whose reply is lost is sent again: its rows come back as
// existing and nothing is stored twice.
func TestImportHelpRequestsRetriesLostBatch(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	const method = pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName
	f.set(f.lose, method, 1)
	rows := partnerRows(20, nil)
	results, err := c.ImportHelpRequests(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.count(method); got != 2 {
		t.Errorf("%d calls, want 2", got)
	}
	checkResults(t, results, len(rows), nil, true)
	if got := s.countStored(t); got != len(rows) {
		t.Errorf("%d stored, want %d", got, len(rows))
	}
}

// When a batch fails for good, the results of the batches before it come
// back with the error.
func TestImportHelpRequestsReportsFailedBatch(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t, client.WithRetry(1, time.Millisecond))
	const method = pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName
	f.set(f.refuseFrom, method, 2)
	results, err := c.ImportHelpRequests(context.Background(), partnerRows(1100, nil))
	if err == nil || !strings.Contains(err.Error(), "batch 2 of 3") || status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want UNAVAILABLE naming batch 2 of 3", err)
	}
	if got := f.count(method); got != 3 {
		t.Errorf("%d calls, want 3 (batch 1, and batch 2 tried twice)", got)
	}
	checkResults(t, results, 500, nil, false)
}

func TestImportHelpRequestsEmpty(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	results, err := c.ImportHelpRequests(context.Background(), nil)
	if err != nil || len(results) != 0 {
		t.Errorf("empty import: %v, %v", results, err)
	}
}
