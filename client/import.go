package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// MaxImportBatch is the most rows BatchCreateHelpRequests takes in one
// call.
const MaxImportBatch = 500

// DefaultMaxRequestBytes is the server's default limit on one request
// (doorstepd --max-recv-bytes).
const DefaultMaxRequestBytes = 1 << 20

// ReasonRowTooLarge is the RowError reason ImportHelpRequests gives a row
// that alone is bigger than the server accepts in one request. The client
// reports it without sending the row.
const ReasonRowTooLarge = "ROW_TOO_LARGE"

// batchMargin is the share of the server's limit left unused: the server
// measures the same encoded message, so this is room for error only.
const batchMargin = 64

// ImportHelpRequests stores rows, a partner's own records, with
// BatchCreateHelpRequests: in batches of at most MaxImportBatch rows that
// also fit the server's request size limit (see WithMaxRequestBytes). Each
// row needs organisation and external_id, which make the import
// idempotent: running it again creates nothing new, and a batch whose
// reply was lost is retried safely.
//
// It returns one result per row, in input order, with Index the row's
// position in rows (not in its batch). A bad row is reported in its
// result's Error and does not stop the others. A row already stored has
// Existing set; that includes, rarely, a row this very import stored when
// a batch was retried after its reply was lost.
//
// If a batch call fails, it returns the results of the batches before it,
// which cover a prefix of rows, with the error; running the whole import
// again finishes it.
func (c *Client) ImportHelpRequests(ctx context.Context, rows []*pb.HelpRequest) ([]*pb.BatchCreateHelpRequestsResult, error) {
	results := make([]*pb.BatchCreateHelpRequestsResult, len(rows))
	limit := c.opts.maxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	budget := limit - limit/batchMargin
	batches := c.planImport(rows, budget, results)
	for n, b := range batches {
		if err := c.importBatch(ctx, rows, b, results); err != nil {
			return results[:b[0]], fmt.Errorf("client: import batch %d of %d (rows %d to %d): %w", n+1, len(batches), b[0], b[len(b)-1], err)
		}
	}
	return results, nil
}

// planImport groups row positions into batches, filling results for rows
// that cannot be sent at all.
func (c *Client) planImport(rows []*pb.HelpRequest, budget int, results []*pb.BatchCreateHelpRequestsResult) [][]int {
	var batches [][]int
	var cur []int
	size := 0
	for i, row := range rows {
		// Each row costs its own size plus the tag and length that frame
		// it as an element of help_requests.
		n := proto.Size(row)
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(n))
		if n > budget {
			results[i] = &pb.BatchCreateHelpRequestsResult{Index: int32(i), Error: &pb.RowError{
				Code:    "INVALID_ARGUMENT",
				Reason:  ReasonRowTooLarge,
				Message: fmt.Sprintf("the row is %d bytes, more than the %d bytes the server accepts in one request", n, budget),
			}}
			continue
		}
		if len(cur) == MaxImportBatch || size+n > budget {
			batches = append(batches, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

// importBatch sends the rows at positions b and files each result under
// its row's position in the whole input.
func (c *Client) importBatch(ctx context.Context, rows []*pb.HelpRequest, b []int, results []*pb.BatchCreateHelpRequestsResult) error {
	req := &pb.BatchCreateHelpRequestsRequest{HelpRequests: make([]*pb.HelpRequest, len(b))}
	for j, i := range b {
		// A nil element cannot be marshalled; an empty row gets the
		// server's own account of what is missing.
		if req.HelpRequests[j] = rows[i]; rows[i] == nil {
			req.HelpRequests[j] = &pb.HelpRequest{}
		}
	}
	resp, err := c.HelpRequests.BatchCreateHelpRequests(ctx, req)
	if err != nil {
		return err
	}
	got := resp.GetResults()
	if len(got) != len(b) {
		return fmt.Errorf("server returned %d results for %d rows", len(got), len(b))
	}
	seen := make([]bool, len(b))
	for _, r := range got {
		j := int(r.GetIndex())
		if j < 0 || j >= len(b) || seen[j] {
			return fmt.Errorf("server returned a result for row %d of a batch of %d, or twice", j, len(b))
		}
		seen[j] = true
		r.Index = int32(b[j])
		results[b[j]] = r
	}
	return nil
}
