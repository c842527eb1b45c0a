package server

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/store"
)

// errorDomain is the ErrorInfo domain of every error this API returns.
const errorDomain = "doorstep.v1"

// Stable ErrorInfo reasons. Clients may switch on them; never rename one.
const (
	ReasonInvalidFields      = "INVALID_FIELDS"
	ReasonUnknownPostcode    = "UNKNOWN_POSTCODE"
	ReasonNotFound           = "NOT_FOUND"
	ReasonExternalIDExists   = "EXTERNAL_ID_EXISTS"
	ReasonEtagMismatch       = "ETAG_MISMATCH"
	ReasonRequestIDReused    = "REQUEST_ID_REUSED"
	ReasonRequestIDGone      = "REQUEST_ID_TARGET_DELETED"
	ReasonInvalidPageToken   = "INVALID_PAGE_TOKEN"
	ReasonUnavailable        = "UNAVAILABLE"
	ReasonInternal           = "INTERNAL"
	ReasonCancelled          = "CANCELLED"
	ReasonDeadlineExceeded   = "DEADLINE_EXCEEDED"
	ReasonHelpRequestMissing = "HELP_REQUEST_NOT_FOUND"
	ReasonVolunteerMissing   = "VOLUNTEER_NOT_FOUND"
	ReasonPostcodeMissing    = "POSTCODE_NOT_FOUND"
)

// statusWith builds a status carrying an ErrorInfo and any other details.
func statusWith(code codes.Code, reason, msg string, meta map[string]string, details ...*errdetails.BadRequest) error {
	st := status.New(code, msg)
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: meta})
	if err != nil {
		return st.Err()
	}
	for _, d := range details {
		if w, err := withInfo.WithDetails(d); err == nil {
			withInfo = w
		}
	}
	return withInfo.Err()
}

// violations collects every bad field of a request, so that one reply
// names them all.
type violations []*errdetails.BadRequest_FieldViolation

func (v *violations) add(field, description string) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: description})
}

func (v *violations) addReason(field, reason, description string) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: description, Reason: reason})
}

// err is INVALID_ARGUMENT naming every violation, or nil when there are none.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	msg := "invalid " + v[0].Field + ": " + v[0].Description
	if len(v) > 1 {
		msg += " (and more: see the field violations)"
	}
	reason := ReasonInvalidFields
	if len(v) == 1 && v[0].Reason != "" {
		reason = v[0].Reason
	}
	return statusWith(codes.InvalidArgument, reason, msg, nil, &errdetails.BadRequest{FieldViolations: v})
}

func invalidField(field, reason, description string) error {
	var v violations
	v.addReason(field, reason, description)
	return v.err()
}

// errMapper turns errors from the store into statuses. It is the one place
// that does, and it logs what the caller is not told.
type errMapper struct{ logger *zap.Logger }

// notFound describes which resource was missing, for the NotFound reply.
type notFound struct {
	reason, name string
}

func (m errMapper) toStatus(ctx context.Context, err error, nf notFound) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return statusWith(codes.NotFound, nf.reason, nf.name+" does not exist", map[string]string{"resource": nf.name})
	case errors.Is(err, store.ErrExternalIDExists):
		return statusWith(codes.AlreadyExists, ReasonExternalIDExists,
			"this organisation already has a request with that external_id", nil)
	case errors.Is(err, store.ErrEtagMismatch):
		return statusWith(codes.Aborted, ReasonEtagMismatch,
			"the resource changed since the etag was read; read it again and retry", nil)
	case errors.Is(err, store.ErrRequestIDReused):
		return invalidField("request_id", ReasonRequestIDReused, "this request_id was already used for a different request")
	case errors.Is(err, store.ErrRequestIDGone):
		return statusWith(codes.FailedPrecondition, ReasonRequestIDGone,
			"this request_id already created a resource that has since been deleted", nil)
	case errors.Is(err, store.ErrBadPageToken):
		return invalidField("page_token", ReasonInvalidPageToken, "is not a token from a previous page of this same query")
	case errors.Is(err, store.ErrClosed):
		return statusWith(codes.Unavailable, ReasonUnavailable, "the server is shutting down; retry shortly", nil)
	case errors.Is(err, context.Canceled):
		return statusWith(codes.Canceled, ReasonCancelled, "the call was cancelled", nil)
	case errors.Is(err, context.DeadlineExceeded):
		return statusWith(codes.DeadlineExceeded, ReasonDeadlineExceeded, "the call ran out of time", nil)
	}
	// Store errors carry ids and bucket names, never personal data.
	m.logger.Error("internal error", zap.Error(err), zap.String("method", methodFrom(ctx)))
	return statusWith(codes.Internal, ReasonInternal, "internal error", nil)
}
