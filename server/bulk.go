package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

const (
	// MaxBatchRows bounds one BatchCreateHelpRequests call; with the 1 MiB
	// message limit it keeps one call's work to a few seconds.
	MaxBatchRows = 500
	// batchWorkers is how many rows of a batch are written at once: enough
	// for the store's group commit to share each fsync among many rows.
	batchWorkers = 32
	rowPrefix    = "row"
)

// ReasonDuplicateInBatch is the RowError reason of a row whose
// organisation and external_id an earlier row of the same batch has.
const ReasonDuplicateInBatch = "DUPLICATE_IN_BATCH"

// BatchCreateHelpRequests implements pb.HelpRequestServiceServer. Rows are
// written concurrently and stand alone: each is a create of its own, so a
// row that fails changes nothing and stops nothing. Of rows sharing an
// organisation and external_id, only the first in the batch is written;
// the others fail with DUPLICATE_IN_BATCH.
func (s *Server) BatchCreateHelpRequests(ctx context.Context, req *pb.BatchCreateHelpRequestsRequest) (*pb.BatchCreateHelpRequestsResponse, error) {
	rows := req.GetHelpRequests()
	if len(rows) == 0 || len(rows) > MaxBatchRows {
		return nil, invalidField("help_requests", ReasonInvalidFields, fmt.Sprintf("give 1 to %d requests; split bigger imports into batches", MaxBatchRows))
	}
	results := make([]*pb.BatchCreateHelpRequestsResult, len(rows))
	sem := make(chan struct{}, batchWorkers)
	var wg sync.WaitGroup
	firstOf := duplicatesInBatch(ctx, rows)
	for i, hr := range rows {
		if first, ok := firstOf[i]; ok {
			results[i] = duplicateRow(i, first)
			continue
		}
		// The worker's place is taken before its goroutine starts: one
		// per row, waiting, held a stack each for every row not yet
		// written, ten thousand for twenty batches while the store was
		// held up.
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = s.createRow(ctx, i, hr)
		})
	}
	wg.Wait()
	var existing []*pb.HelpRequest
	for _, r := range results {
		if r.Existing {
			existing = append(existing, r.HelpRequest)
		}
	}
	// A row found stored hands back its personal data: a read to record.
	if _, err := s.disclose(ctx, existing); err != nil {
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	if err := ctx.Err(); err != nil {
		// Some rows may have been stored: a retry finds them by
		// external_id, so the caller loses nothing by retrying.
		return nil, s.errs.toStatus(ctx, err, notFound{})
	}
	// Looked up once all rows are stored, so that two rows of this batch
	// for one caller at one time name each other.
	stored := make([]*pb.HelpRequest, len(results))
	for i, r := range results {
		stored[i] = r.HelpRequest
	}
	for i, names := range s.sameTime(ctx, stored...) {
		results[i].SameTimeRequests = names
	}
	created, failed := 0, 0
	for _, r := range results {
		switch {
		case r.Error != nil:
			failed++
		case !r.Existing:
			created++
		}
	}
	s.logger.Info("batch create", append(principalFrom(ctx).logFields(),
		zap.Int("rows", len(rows)), zap.Int("created", created), zap.Int("existing", len(existing)), zap.Int("failed", failed))...)
	return &pb.BatchCreateHelpRequestsResponse{Results: results}, nil
}

// duplicatesInBatch maps the position of each row that repeats an earlier
// row's organisation and external_id to the position of that earlier row.
// Rows are written concurrently, so without this which of two such rows
// is stored, and which is told "existing" while its own details are
// dropped, would be down to scheduling. The keys are normalised as
// createRow will normalise them; a row without an external_id is left to
// createRow to refuse.
func duplicatesInBatch(ctx context.Context, rows []*pb.HelpRequest) map[int]int {
	type key struct{ org, ext string }
	seen := make(map[key]int, len(rows))
	var out map[int]int
	p := principalFrom(ctx)
	for i, hr := range rows {
		k := key{strings.ToLower(strings.TrimSpace(hr.GetOrganisation())), strings.TrimSpace(hr.GetExternalId())}
		if k.ext == "" {
			continue
		}
		if k.org == "" && p != nil && p.Role == partner {
			k.org = p.Organisation // as partnerOrganisation fills it in
		}
		if first, ok := seen[k]; ok {
			if out == nil {
				out = map[int]int{}
			}
			out[i] = first
			continue
		}
		seen[k] = i
	}
	return out
}

// duplicateRow is the result of row i, which repeats row first.
func duplicateRow(i, first int) *pb.BatchCreateHelpRequestsResult {
	var v violations
	v.addReason(rowPrefix+".external_id", ReasonDuplicateInBatch,
		fmt.Sprintf("repeats the external_id of row %d of this batch, in the same organisation: only the first row with it is written "+
			"(if that row failed, correct it there); give this row an external_id of its own, or remove it", first))
	return &pb.BatchCreateHelpRequestsResult{Index: int32(i), Error: rowError(v.err())}
}

// createRow stores one row, or finds it stored already under its
// organisation and external_id. The lookup comes first so that running an
// old file again reports its rows as existing even where they would no
// longer pass the checks for a new request (a deadline now past).
func (s *Server) createRow(ctx context.Context, i int, hr *pb.HelpRequest) *pb.BatchCreateHelpRequestsResult {
	res := &pb.BatchCreateHelpRequestsResult{Index: int32(i)}
	fail := func(err error) *pb.BatchCreateHelpRequestsResult {
		res.Error = rowError(err)
		return res
	}
	if err := partnerOrganisation(ctx, hr); err != nil {
		return fail(err)
	}
	var v, orgOK violations // the full check below names a bad organisation
	org := checkOrganisation(&orgOK, rowPrefix+".organisation", hr.GetOrganisation())
	ext := strings.TrimSpace(hr.GetExternalId())
	if ext == "" {
		v.add(rowPrefix+".external_id", "is required in a batch: it makes the row safe to send again")
	}
	if len(v) == 0 && len(orgOK) == 0 {
		found, err := s.store.GetHelpRequestByExternalID(ctx, org, ext)
		if err == nil {
			res.HelpRequest, res.Existing = found, true
			res.DifferingFields = differingFields(hr, found)
			return res
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fail(s.errs.toStatus(ctx, err, notFound{}))
		}
	}
	// The row as sent, for the comparison should another call store it
	// first: the create fills in what the row left out (an urgency of
	// normal, the postcode's centre), and compared so, a row that gave
	// neither differed from the other call's in both.
	sent := proto.CloneOf(hr)
	if err := s.checkNewHelpRequest(ctx, &v, rowPrefix, hr); err != nil {
		return fail(s.errs.toStatus(ctx, err, notFound{}))
	}
	if err := v.err(); err != nil {
		return fail(err)
	}
	out, err := s.store.CreateHelpRequest(s.auditing(ctx, "create", "", requestPersonalSet(hr)), hr, store.Idempotency{})
	if errors.Is(err, store.ErrExternalIDExists) {
		// Another row or call stored it since the lookup.
		out, err = s.store.GetHelpRequestByExternalID(ctx, hr.Organisation, hr.ExternalId)
		res.Existing = err == nil
		if res.Existing {
			res.DifferingFields = differingFields(sent, out)
		}
	}
	if err != nil {
		return fail(s.errs.toStatus(ctx, err, helpRequestNotFound("")))
	}
	res.HelpRequest = out
	s.urgentOpen(out)
	return res
}

// differingFields names each field of row, a batch row whose
// organisation and external_id found stored, whose value differs from
// stored's once the row is normalised as a create normalises it. The row
// is not applied, and "existing" alone told a partner whose client had
// a new phone number since yesterday's file that all was well, while
// volunteers went on ringing the old one. Personal fields are not
// compared once stored's personal data was removed: their absence is not
// the partner's change.
func differingFields(row, stored *pb.HelpRequest) []string {
	sent := proto.Clone(row).(*pb.HelpRequest)
	var ignored violations // a create would refuse them; here they differ
	houseOutOfStreet(&ignored, rowPrefix+".location", sent.Location)
	cleanHelpRequest(&ignored, rowPrefix, sent, helpRequestCheck{})
	personal := stored.GetPersonalDataRemovedTime() == nil
	var out []string
	differ := func(field string, differs bool) {
		if differs {
			out = append(out, field)
		}
	}
	differ("needs", !sameSet(sent.GetNeeds(), stored.GetNeeds()))
	// Text is compared as sameText does, whatever the composition of its
	// accents: a partner's export may compose them one night and not the
	// next, and that is no change at source.
	differ("details", personal && !sameText(sent.GetDetails(), stored.GetDetails(), true))
	differ("required_skills", !sameSet(sent.GetRequiredSkills(), stored.GetRequiredSkills()))
	// A row that gives no urgency says nothing of it: the create's normal
	// is ours, and staff's triage since (high) is no change at source.
	differ("urgency", row.GetUrgency() != pb.Urgency_URGENCY_UNSPECIFIED &&
		sent.GetUrgency() != cmp.Or(stored.GetUrgency(), pb.Urgency_URGENCY_NORMAL))
	switch {
	case sent.GetWindow() != nil || stored.GetWindow() != nil && sent.GetDeadline() == nil:
		differ("window", !proto.Equal(sent.GetWindow(), stored.GetWindow()))
	default:
		differ("deadline", !proto.Equal(sent.GetDeadline(), stored.GetDeadline()))
	}
	differ("remote_ok", sent.GetRemoteOk() != stored.GetRemoteOk())
	differ("enters_home", sent.GetEntersHome() != stored.GetEntersHome())
	sl, tl := sent.GetLocation(), stored.GetLocation()
	differ("location.postcode", sl.GetPostcode() != tl.GetPostcode())
	differ("location.street", !sameText(sl.GetStreet(), tl.GetStreet(), false))
	differ("location.address_lines", personal && !slices.EqualFunc(sl.GetAddressLines(), tl.GetAddressLines(),
		func(a, b string) bool { return sameText(a, b, false) }))
	// Without coordinates the stored ones are the postcode's centre, not
	// the partner's.
	differ("location.lat_lng", personal && sl.GetLatLng() != nil && !proto.Equal(sl.GetLatLng(), tl.GetLatLng()))
	differ("requester.display_name", personal && !sameText(sent.GetRequester().GetDisplayName(), stored.GetRequester().GetDisplayName(), false))
	differ("requester.phone", personal && sent.GetRequester().GetPhone() != stored.GetRequester().GetPhone())
	sv, tv := sent.GetVulnerability(), stored.GetVulnerability()
	differ("vulnerability", personal && (sv.GetLivesAlone() != tv.GetLivesAlone() || sv.GetShielding() != tv.GetShielding() ||
		sv.GetNoInternet() != tv.GetNoInternet() || sv.GetReducedMobility() != tv.GetReducedMobility()))
	return out
}

// sameSet says whether a and b hold the same values, in any order: a
// file listing needs in another order asks for the same help.
func sameSet[T cmp.Ordered](a, b []T) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// rowError is the status err would have been, as a row's result, with
// field paths made relative to the row.
func rowError(err error) *pb.RowError {
	st := status.Convert(err)
	out := &pb.RowError{Code: codeName(st.Code()), Message: strings.ReplaceAll(st.Message(), rowPrefix+".", "")}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out.Reason = d.Reason
		case *errdetails.BadRequest:
			for _, fv := range d.FieldViolations {
				out.FieldViolations = append(out.FieldViolations, &pb.RowFieldViolation{
					Field: strings.TrimPrefix(fv.Field, rowPrefix+"."), Description: fv.Description,
				})
			}
		}
	}
	return out
}

// codeName is the canonical upper-case name of a code ("INVALID_ARGUMENT").
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
