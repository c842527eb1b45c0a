package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/matcher"
	"github.com/doorstep-aid/doorstep/store"
)

// errorDomain is the ErrorInfo domain of every error this API returns.
const errorDomain = "doorstep.v1"

// Stable ErrorInfo reasons. Clients may switch on them; never rename one.
const (
	ReasonInvalidFields       = "INVALID_FIELDS"
	ReasonUnknownPostcode     = "UNKNOWN_POSTCODE"
	ReasonNotFound            = "NOT_FOUND"
	ReasonExternalIDExists    = "EXTERNAL_ID_EXISTS"
	ReasonEtagMismatch        = "ETAG_MISMATCH"
	ReasonRequestIDReused     = "REQUEST_ID_REUSED"
	ReasonRequestIDGone       = "REQUEST_ID_TARGET_DELETED"
	ReasonInvalidPageToken    = "INVALID_PAGE_TOKEN"
	ReasonUnavailable         = "UNAVAILABLE"
	ReasonInternal            = "INTERNAL"
	ReasonCancelled           = "CANCELLED"
	ReasonDeadlineExceeded    = "DEADLINE_EXCEEDED"
	ReasonHelpRequestMissing  = "HELP_REQUEST_NOT_FOUND"
	ReasonVolunteerMissing    = "VOLUNTEER_NOT_FOUND"
	ReasonPostcodeMissing     = "POSTCODE_NOT_FOUND"
	ReasonOfferMissing        = "OFFER_NOT_FOUND"
	ReasonWrongState          = "WRONG_STATE" // metadata "state": the request's or offer's state, where known
	ReasonNotEligible         = "NOT_ELIGIBLE"
	ReasonAtCapacity          = "AT_CAPACITY"
	ReasonVolunteerPaused     = "VOLUNTEER_PAUSED"
	ReasonVolunteerHeld       = "VOLUNTEER_HELD"
	ReasonDeclinedBefore      = "DECLINED_BEFORE"
	ReasonLeaseExpired        = "LEASE_EXPIRED"
	ReasonRequestEnded        = "REQUEST_ENDED"
	ReasonHasCommitments      = "HAS_COMMITMENTS"
	ReasonOffersWaiting       = "OFFERS_WAITING"
	ReasonSameDoor            = "SAME_DOOR" // metadata "volunteer_coming" (to staff): the volunteer already going to that door then
	ReasonPersonalDataRemoved = "PERSONAL_DATA_REMOVED"
	ReasonNotMatchable        = "NOT_MATCHABLE"
	ReasonAlreadyExists       = "ALREADY_EXISTS"
	ReasonLastAdminToken      = "LAST_ADMIN_TOKEN"
	ReasonStorageFull         = "STORAGE_FULL"
	ReasonBackupDirUnset      = "BACKUP_DIR_UNSET"
	ReasonBackupDiskFull      = "BACKUP_DISK_FULL"
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
// names them all, up to maxViolations.
type violations []*errdetails.BadRequest_FieldViolation

// maxViolations bounds the violations one reply lists. A request within
// the message limit can hold a million bad list entries: listed, they made
// a reply of hundreds of megabytes, which the connection could not carry,
// and every other call on it failed too. A person fixes a handful at a
// time; the reply says that more were left out.
const maxViolations = 100

func (v *violations) add(field, description string) { v.addReason(field, "", description) }

// full says that no more violations will be listed: a loop over a list's
// entries stops there rather than judge, and name, a million of them.
func (v violations) full() bool { return len(v) > maxViolations }

func (v *violations) addReason(field, reason, description string) {
	switch {
	case len(*v) > maxViolations:
		return
	case len(*v) == maxViolations:
		description = fmt.Sprintf("and more: only the first %d problems are listed; fix them and send again", maxViolations)
		reason = ""
	}
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
	var blocking *store.CommitmentsError
	var sameDoor *store.SameDoorError
	var stateErr *store.StateError
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
	case errors.Is(err, store.ErrLastAdminToken):
		return statusWith(codes.FailedPrecondition, ReasonLastAdminToken,
			"this is the last admin token that works, and no other can be made without one: create another admin token first", nil)
	case errors.Is(err, store.ErrBadPageToken):
		return invalidField("page_token", ReasonInvalidPageToken, "is not a token from a previous page of this same query")
	// An offer that lapsed is both in the wrong state and expired: say
	// the more useful one.
	case errors.Is(err, store.ErrLeaseExpired):
		return statusWith(codes.FailedPrecondition, ReasonLeaseExpired, "the offer's lease has passed", nil)
	case errors.Is(err, store.ErrRequestEnded):
		return statusWith(codes.FailedPrecondition, ReasonRequestEnded,
			"the request's window or deadline has passed: it is about to be marked expired", nil)
	case errors.As(err, &stateErr):
		st := stateWord(stateErr.State)
		return statusWith(codes.FailedPrecondition, ReasonWrongState, "the "+stateErr.Noun+" is "+st+", which does not allow this; read it again",
			map[string]string{"state": st})
	case errors.Is(err, store.ErrWrongState):
		return statusWith(codes.FailedPrecondition, ReasonWrongState, "not allowed in the current state; read it again", nil)
	case errors.Is(err, store.ErrAtCapacity):
		return statusWith(codes.FailedPrecondition, ReasonAtCapacity, "the volunteer has as many offers and assignments as their capacity", nil)
	case errors.Is(err, store.ErrVolunteerPaused):
		return statusWith(codes.FailedPrecondition, ReasonVolunteerPaused, "the volunteer has paused", nil)
	case errors.Is(err, store.ErrVolunteerHeld):
		return statusWith(codes.FailedPrecondition, ReasonVolunteerHeld, "a coordinator has put the volunteer on hold", nil)
	case errors.Is(err, store.ErrDeclinedBefore):
		return statusWith(codes.FailedPrecondition, ReasonDeclinedBefore, "the volunteer declined, missed or handed back this request before", nil)
	case errors.Is(err, store.ErrOwnRequest):
		return notEligibleStatus("the volunteer cannot take this request: ", matcher.Exclusion{Reason: ownRequestRule}, "")
	case errors.As(err, &sameDoor):
		if sameDoor.Declined {
			return statusWith(codes.FailedPrecondition, ReasonSameDoor,
				sameDoor.Coming+" is already going to this caller's door at a time meeting this request's, but declined or handed back this one: "+
					"set allow_second_volunteer if the caller has agreed to two visitors",
				map[string]string{"volunteer_coming": sameDoor.Coming})
		}
		return sameDoorStatus(ctx, sameDoor.Coming)
	case errors.As(err, &blocking):
		return statusWith(codes.FailedPrecondition, ReasonHasCommitments,
			blocking.Resource+" has a live offer or assignment: "+commitmentsAdvice(blocking.Resource), map[string]string{"resource": blocking.Resource})
	case errors.Is(err, store.ErrHasCommitments):
		return statusWith(codes.FailedPrecondition, ReasonHasCommitments, "it has a live offer or assignment: end it first (decline the offer, or complete or cancel the request)", nil)
	case errors.Is(err, matcher.ErrNoLocation), errors.Is(err, matcher.ErrNoWindow), errors.Is(err, matcher.ErrUnknownVolunteer):
		return statusWith(codes.FailedPrecondition, ReasonNotMatchable, "the request or volunteer cannot be matched: it lacks a place or a time", nil)
	case errors.Is(err, store.ErrClosed):
		return statusWith(codes.Unavailable, ReasonUnavailable, "the server is shutting down; retry shortly", nil)
	case errors.Is(err, store.ErrMapLimitReached):
		// Freeing disk space does not help: the file is at the most this
		// 32-bit build can map, and only a 64-bit build can take it
		// further. Writes that fit in the file's free pages still succeed.
		m.logger.Error("data file reached the most a 32-bit system can map (2 GiB): writes that need more room are refused; "+
			"stop the server and move the data file and its key file, as they are, to a doorstepd built for a 64-bit system",
			zap.Error(err), zap.String("method", methodFrom(ctx)))
		return statusWith(codes.ResourceExhausted, ReasonStorageFull,
			"the server's storage is full, so this was not done and nothing was changed: tell whoever runs the server", nil)
	case diskFull(err):
		// The operator must free space; the caller must know that nothing
		// was saved and that it is no bug of theirs. Reads of personal data
		// fail too: their audit record cannot be written.
		m.logger.Error("disk full: nothing can be written until space is freed", zap.Error(err), zap.String("method", methodFrom(ctx)))
		return statusWith(codes.ResourceExhausted, ReasonStorageFull,
			"the server's disk is full, so this was not done and nothing was changed: tell whoever runs the server, and try again once they have freed space", nil)
	case errors.Is(err, context.Canceled):
		return statusWith(codes.Canceled, ReasonCancelled, "the call was cancelled", nil)
	case errors.Is(err, context.DeadlineExceeded):
		return statusWith(codes.DeadlineExceeded, ReasonDeadlineExceeded, "the call ran out of time", nil)
	}
	// Store errors carry ids and bucket names, never personal data.
	id := newIncident()
	m.logger.Error("internal error", zap.Error(err), zap.String("method", methodFrom(ctx)), zap.String("code", codes.Internal.String()),
		zap.String("incident", id))
	return internalStatus(id)
}

// internalStatus is INTERNAL for the fault logged under incident id. The
// caller is told nothing of the fault, which is the server's to mend, but
// is given the id to quote: whoever runs the server finds by it the one
// log line that says what went wrong, among a night's.
func internalStatus(id string) error {
	return statusWith(codes.Internal, ReasonInternal,
		"internal error (incident "+id+"): tell whoever runs the server, quoting the incident", map[string]string{"incident": id})
}

// newIncident is a fresh id for a fault, short enough to read out on the
// phone and random, so that servers and restarts never repeat one.
func newIncident() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// incidentOf is the incident id an INTERNAL error carries, or "".
func incidentOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == ReasonInternal {
			return info.GetMetadata()["incident"]
		}
	}
	return ""
}

// commitmentsAdvice says how to end what blocks an erasure or deletion of
// resource. Declining an offer is not enough where dispatch runs on its
// own: the request goes back to OPEN, or the volunteer stays free, and
// either may be offered again before the call is made again.
func commitmentsAdvice(resource string) string {
	switch {
	case strings.HasPrefix(resource, "helpRequests/"):
		return "end it first: complete it if the help was given, else cancel it (decline the offer only where automatic dispatch is off: it may offer the request again)"
	case strings.HasPrefix(resource, "volunteers/"):
		return "end it first: hold them (held), which withdraws their waiting offers and keeps new ones from them, then release or complete any job they are assigned " +
			"(decline the offer only where automatic dispatch is off: it may offer them another)"
	}
	return "end it first (decline the offer, or complete or cancel the request; where automatic dispatch runs, cancel the request or hold the volunteer)"
}

// diskFull says whether err is a write that failed for want of disk space
// (the file system, or the server's quota on it, is full). bbolt rolls such
// a commit back, so the same write succeeds once space is freed.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// sameDoorStatus refuses an offer, or its accept, that would send a
// second volunteer to a door coming is already going to then.
func sameDoorStatus(ctx context.Context, coming string) error {
	if comingFor(ctx, coming) == "" {
		return statusWith(codes.FailedPrecondition, ReasonSameDoor,
			"another volunteer is already going to this caller's door at a time meeting this request's", nil)
	}
	return statusWith(codes.FailedPrecondition, ReasonSameDoor,
		coming+" is already going to this caller's door at a time meeting this request's: offer it to them, "+
			"or set allow_second_volunteer if the caller has agreed to two visitors",
		map[string]string{"volunteer_coming": coming})
}

// comingFor is the volunteer a SAME_DOOR refusal names as going to the
// door: staff read their record and may offer them the request, but a
// partner or a volunteer may read no other volunteer's record, and the one
// going may be another group's, for another group's request (whose
// holder and group are kept from them elsewhere too): to them, "".
func comingFor(ctx context.Context, coming string) string {
	if p := principalFrom(ctx); p != nil && !p.sees() {
		return ""
	}
	return coming
}
