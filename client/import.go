package client

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// MaxImportBatch is the most rows BatchCreateHelpRequests takes in one
// call.
const MaxImportBatch = 500

// DefaultMaxRequestBytes is the server's default limit on one request
// (doorstepd --max-recv-bytes).
const DefaultMaxRequestBytes = 1 << 20

// ReasonRowTooLarge is the RowError reason ImportHelpRequests gives a row
// that alone is bigger than the server, or a proxy before it, accepts in
// one request. The row is not stored.
const ReasonRowTooLarge = "ROW_TOO_LARGE"

// ReasonInvalidUTF8 is the RowError reason ImportHelpRequests gives a row
// with a text field that is not valid UTF-8, naming each such field. gRPC
// cannot carry such a row at all: sent, it would fail its whole batch.
const ReasonInvalidUTF8 = "INVALID_UTF8"

// ReasonDuplicateInBatch is the RowError reason of a row whose
// organisation and external_id an earlier row has. ImportHelpRequests
// gives it across the whole import, naming the earlier row by its
// position in rows; BatchCreateHelpRequests gives it within one call.
const ReasonDuplicateInBatch = "DUPLICATE_IN_BATCH"

// batchMargin is the share of the server's limit left unused: the server
// measures the same encoded message, so this is room for error only.
const batchMargin = 64

// ImportHelpRequests stores rows, a partner's own records, with
// BatchCreateHelpRequests: in batches of at most MaxImportBatch rows that
// also fit the server's request size limit (see WithMaxRequestBytes; a
// batch the server, or a proxy before it, refuses as too large all the
// same is sent again in halves, and a row too large alone fails with
// ReasonRowTooLarge). Each row needs organisation and external_id, which
// make the import idempotent: running it again creates nothing new, and a
// batch whose reply was lost is retried safely.
//
// It returns one result per row, in input order, with Index the row's
// position in rows (not in its batch). A bad row is reported in its
// result's Error and does not stop the others. Of rows with the same
// organisation and external_id, the first is sent and each later one fails
// with ReasonDuplicateInBatch, in whichever batch it falls. A row with text
// that is not valid UTF-8 fails with ReasonInvalidUTF8 and is not sent. A
// row already stored has Existing set; that includes, rarely, a row this
// very import stored when a batch was retried after its reply was lost.
// Such a row is not applied over the stored request: DifferingFields
// names each field whose value in the row differs from it (a client's new
// phone number since the last import), for UpdateHelpRequest to change;
// a request closed since is never matched again, and one whose personal
// data was removed cannot be updated, so help still needed there is a
// row under a new external_id.
//
// A stored row's SameTimeRequests names the requester's other live
// requests (same phone and postcode: one number can be several people's,
// each at their own home) at an overlapping time that the token may read,
// oldest first, at most 10: perhaps one client sent under two references.
// They include rows of the same batch and of batches sent before it, not
// of later batches: of two such rows in different batches, only the later
// names the earlier. A row found stored already names them as things
// stand now.
//
// If a batch call fails, it returns the results of the batches before it,
// which cover a prefix of rows, with the error; running the whole import
// again finishes it. A batch with a row the server refused because its
// disk is full (ReasonStorageFull) ends the import too, its own results
// included, with an error of that reason: every later row would be
// refused the same way.
func (c *Client) ImportHelpRequests(ctx context.Context, rows []*pb.HelpRequest) ([]*pb.BatchCreateHelpRequestsResult, error) {
	results := make([]*pb.BatchCreateHelpRequestsResult, len(rows))
	limit := c.maxRequestBytes()
	budget := limit - limit/batchMargin
	batches := c.planImport(rows, budget, results)
	for n, b := range batches {
		if err := c.importBatch(ctx, rows, b, results); err != nil {
			return results[:b[0]], fmt.Errorf("client: import batch %d of %d (rows %d to %d): %w", n+1, len(batches), b[0], b[len(b)-1], err)
		}
		if full := storageFull(results, b); full != nil {
			// Every later row would be refused too, each a failed write
			// on the full disk and a line in the server's log: stop, with
			// this batch's results, which say which rows were stored.
			return results[:b[len(b)-1]+1], fmt.Errorf("client: import batch %d of %d (rows %d to %d): %w", n+1, len(batches), b[0], b[len(b)-1], full)
		}
	}
	return results, nil
}

// storageFull is the error of the first row at positions b that the
// server refused for its full disk (STORAGE_FULL), or nil.
func storageFull(results []*pb.BatchCreateHelpRequestsResult, b []int) error {
	for _, i := range b {
		if e := results[i].GetError(); e.GetReason() == ReasonStorageFull {
			st, err := status.New(codes.ResourceExhausted, e.GetMessage()).WithDetails(&errdetails.ErrorInfo{Reason: ReasonStorageFull, Domain: "doorstep.v1"}) // as the server would have said it
			if err != nil {
				return status.Error(codes.ResourceExhausted, e.GetMessage())
			}
			return st.Err()
		}
	}
	return nil
}

// maxRequestBytes is the server's request size limit as this client was
// told it.
func (c *Client) maxRequestBytes() int {
	if c.opts.maxRequestBytes <= 0 {
		return DefaultMaxRequestBytes
	}
	return c.opts.maxRequestBytes
}

// tooLarge says whether err is gRPC refusing a message for its size, the
// server's request or its reply: RESOURCE_EXHAUSTED in gRPC's words and
// with no reason (the server's own refusals, such as RATE_LIMITED, all
// carry one), so that a proxy's throttling is not taken for it. Or a
// proxy before the server refusing the request for its size, as nginx
// does one over its client_max_body_size (1m unless set): HTTP 413, which
// gRPC calls UNKNOWN.
func tooLarge(err error) bool {
	st, ok := statusOf(err)
	if !ok || Reason(err) != "" {
		return false
	}
	switch st.Code() {
	case codes.ResourceExhausted:
		return strings.Contains(st.Message(), "larger than max")
	case codes.Unknown:
		return strings.Contains(st.Message(), "unexpected HTTP status code received from server: 413 ")
	}
	return false
}

// planImport groups row positions into batches, filling results for rows
// that cannot be sent at all.
func (c *Client) planImport(rows []*pb.HelpRequest, budget int, results []*pb.BatchCreateHelpRequestsResult) [][]int {
	var batches [][]int
	var cur []int
	size := 0
	type seen struct {
		org   string
		first int
	}
	byExt := map[string][]seen{}
	for i, row := range rows {
		// Checked here rather than left to the server so that which batch
		// a repeat falls in cannot change its outcome, and so that the
		// error names the first row by its place in rows, not in a batch.
		// Organisations are compared as the server normalises them.
		org, ext := strings.ToLower(strings.TrimSpace(row.GetOrganisation())), strings.TrimSpace(row.GetExternalId())
		if ext != "" {
			first := -1
			for _, e := range byExt[ext] {
				// An empty organisation is a partner token's own, which the
				// client cannot know: it matches any. For an admin such a
				// row fails, and the rows it matches are refused naming it,
				// loudly, rather than a partner's repeat silently dropped.
				if e.org == org || e.org == "" || org == "" {
					first = e.first
					break
				}
			}
			if first >= 0 {
				desc := fmt.Sprintf("repeats the external_id of row %d, in the same organisation: only the first row with it is written "+
					"(if that row failed, correct it there); give this row an external_id of its own, or remove it", first)
				results[i] = &pb.BatchCreateHelpRequestsResult{Index: int32(i), Error: &pb.RowError{
					Code:            "INVALID_ARGUMENT",
					Reason:          ReasonDuplicateInBatch,
					Message:         "invalid external_id: " + desc,
					FieldViolations: []*pb.RowFieldViolation{{Field: "external_id", Description: desc}},
				}}
				continue
			}
			byExt[ext] = append(byExt[ext], seen{org, i})
		}
		if bad := invalidUTF8Fields(row.ProtoReflect(), "", nil); len(bad) > 0 {
			results[i] = &pb.BatchCreateHelpRequestsResult{Index: int32(i), Error: invalidUTF8Error(bad)}
			continue
		}
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
	if tooLarge(err) {
		// The server's limit, or a proxy's, is below the one this client
		// was given, or the reply outgrew what gRPC receives. Either way
		// sending less at once is safe, rows being idempotent by
		// external_id, where the error would end the import with gRPC's
		// words for it.
		if len(b) == 1 {
			msg := fmt.Sprintf("the row is %d bytes, more than the server accepts in one request "+
				"(its limit is below the %d bytes this client was told: see WithMaxRequestBytes)", proto.Size(req), c.maxRequestBytes())
			if status.Code(err) == codes.Unknown {
				// The server's limit is not the one to raise.
				msg = fmt.Sprintf("the row is %d bytes, more than a proxy before the server accepts in one request "+
					"(HTTP 413: its limit on a request's body, nginx's client_max_body_size, is below the server's)", proto.Size(req))
			}
			results[b[0]] = &pb.BatchCreateHelpRequestsResult{Index: int32(b[0]), Error: &pb.RowError{
				Code:    "INVALID_ARGUMENT",
				Reason:  ReasonRowTooLarge,
				Message: msg,
			}}
			return nil
		}
		half := len(b) / 2
		if err := c.importBatch(ctx, rows, b[:half], results); err != nil {
			return err
		}
		return c.importBatch(ctx, rows, b[half:], results)
	}
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

// invalidUTF8Fields appends to out the path within the row ("location.street",
// "location.address_lines[1]") of every string field of m, however deeply
// nested or repeated, that is not valid UTF-8. Walking the message rather
// than listing fields keeps fields added later covered.
func invalidUTF8Fields(m protoreflect.Message, prefix string, out []string) []string {
	if !m.IsValid() {
		return out
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				out = invalidUTF8Value(fd, l.Get(i), fmt.Sprintf("%s[%d]", path, i), out)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				elem := path + "[" + k.String() + "]"
				if fd.MapKey().Kind() == protoreflect.StringKind {
					if !utf8.ValidString(k.String()) {
						out = append(out, path)
						return true
					}
					elem = fmt.Sprintf("%s[%q]", path, k.String())
				}
				out = invalidUTF8Value(fd.MapValue(), mv, elem, out)
				return true
			})
		default:
			out = invalidUTF8Value(fd, v, path, out)
		}
		return true
	})
	return out
}

// invalidUTF8Value checks one value of field fd, found at path.
func invalidUTF8Value(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, out []string) []string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			out = append(out, path)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		out = invalidUTF8Fields(v.Message(), path+".", out)
	}
	return out
}

// invalidUTF8Error is the row error for the fields at paths, worded as the
// server words INVALID_FIELDS. The text itself is left out: it is most
// likely a name or an address.
func invalidUTF8Error(paths []string) *pb.RowError {
	const desc = "is not valid UTF-8 text: the file it came from may be in another encoding, such as Windows-1252"
	e := &pb.RowError{Code: "INVALID_ARGUMENT", Reason: ReasonInvalidUTF8, Message: "invalid " + paths[0] + ": " + desc}
	if len(paths) > 1 {
		e.Message += " (and more: see the field violations)"
	}
	for _, p := range paths {
		e.FieldViolations = append(e.FieldViolations, &pb.RowFieldViolation{Field: p, Description: desc})
	}
	return e
}
