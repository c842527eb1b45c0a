package client

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// maxBackoff caps the wait between two attempts, so that a long outage is
// still probed every few seconds.
const maxBackoff = 5 * time.Second

// defaultBackoff is the first wait when WithRetry gave none; Watch needs
// one even when unary retries are off.
const defaultBackoff = 100 * time.Millisecond

// retryable maps each method that may be sent again after UNAVAILABLE to
// the test its request must pass; IsRetryable says why each is here.
var retryable = map[string]func(req any) bool{
	pb.HelpRequestService_GetHelpRequest_FullMethodName:          always,
	pb.HelpRequestService_ListHelpRequests_FullMethodName:        always,
	pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName: always,
	pb.HelpRequestService_CreateHelpRequest_FullMethodName: func(req any) bool {
		r, ok := req.(*pb.CreateHelpRequestRequest)
		return ok && r.GetRequestId() != ""
	},
	pb.HelpRequestService_UpdateHelpRequest_FullMethodName: func(req any) bool {
		r, ok := req.(*pb.UpdateHelpRequestRequest)
		return ok && r.GetHelpRequest().GetEtag() != ""
	},
	pb.VolunteerService_GetVolunteer_FullMethodName:   always,
	pb.VolunteerService_ListVolunteers_FullMethodName: always,
	pb.VolunteerService_CreateVolunteer_FullMethodName: func(req any) bool {
		r, ok := req.(*pb.CreateVolunteerRequest)
		return ok && r.GetRequestId() != ""
	},
	pb.VolunteerService_UpdateVolunteer_FullMethodName: func(req any) bool {
		r, ok := req.(*pb.UpdateVolunteerRequest)
		return ok && r.GetVolunteer().GetEtag() != ""
	},
	pb.MatchingService_CreateOffer_FullMethodName: func(req any) bool {
		r, ok := req.(*pb.CreateOfferRequest)
		return ok && r.GetRequestId() != ""
	},
	pb.GazetteerService_LookupPostcode_FullMethodName: always,
	pb.MatchingService_FindCandidates_FullMethodName:  always,
	pb.MatchingService_GetOffer_FullMethodName:        always,
	pb.MatchingService_ListOffers_FullMethodName:      always,
	pb.AdminService_ListTokens_FullMethodName:         always,
	pb.AdminService_ListOrganisations_FullMethodName:  always,
	pb.AdminService_ListAuditRecords_FullMethodName:   always,
	pb.AdminService_ExportPersonalData_FullMethodName: always,
}

func always(any) bool { return true }

// IsRetryable reports whether this client retries method (a full gRPC
// method name such as "/doorstep.v1.HelpRequestService/GetHelpRequest")
// with this request after UNAVAILABLE. UNAVAILABLE does not say whether
// the server acted before the connection failed, so a method is retried
// only when running it twice does what running it once does:
//
//   - reads (Get, List, LookupPostcode, FindCandidates, GetOffer, ListOffers, and the
//     admin lists and export) change nothing;
//   - CreateHelpRequest, CreateVolunteer and CreateOffer carry a
//     request_id (the client fills one in when the caller did not), and
//     the server answers a repeat with the first result;
//   - BatchCreateHelpRequests rows are idempotent by external_id: a repeat
//     returns the stored rows with existing = true;
//   - an Update that carries an etag applies at most once: if the first
//     attempt took effect, the retry fails with ABORTED (ETAG_MISMATCH),
//     which an etag user handles anyway by reading again, and then sees
//     its own change. Without an etag a retry could overwrite a change made
//     by someone else in between, so it is not retried.
//
// Any call the server turned away for its token's call rate
// (RESOURCE_EXHAUSTED, RATE_LIMITED) is retried in the same way whatever
// its method, since the server refuses such a call before running it.
//
// Never retried after UNAVAILABLE: Delete (a repeat says NOT_FOUND for a
// delete that worked), AcceptOffer, DeclineOffer, CompleteHelpRequest,
// ReleaseHelpRequest and CancelHelpRequest (a repeat fails with
// WRONG_STATE and hides the success), Dispatch (a second run makes
// more offers), ErasePersonalData (a repeat finds nothing left to
// erase and answers that nothing was erased, which an admin would pass on
// to the person as nothing having been held), CreateToken (a repeat makes
// a second token, and the first one's secret is lost with its answer),
// RevokeToken and CreateOrganisation (a repeat fails and hides the
// success).
func IsRetryable(method string, req any) bool {
	ok, known := retryable[method]
	if !known {
		return false
	}
	return ok(withRequestID(method, req))
}

// withRequestID gives a create that lacks a request_id a fresh one, on a
// shallow copy so that the caller's message is left as it was. Without it
// a create could not be retried, and a create sent twice by a proxy or a
// transparent retry would store two requests for one person.
func withRequestID(method string, req any) any {
	if !createMethods[method] {
		return req
	}
	r, ok := req.(interface {
		proto.Message
		GetRequestId() string
	})
	if !ok || r.GetRequestId() != "" {
		return req
	}
	// Every field is copied by reflection, so that a field the API gains
	// (allow_second_volunteer) cannot be dropped here unnoticed.
	src := r.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	dst.Set(dst.Descriptor().Fields().ByName("request_id"), protoreflect.ValueOfString(NewRequestID()))
	return dst.Interface()
}

// createMethods are the creates withRequestID gives a request_id.
var createMethods = map[string]bool{
	pb.HelpRequestService_CreateHelpRequest_FullMethodName: true,
	pb.VolunteerService_CreateVolunteer_FullMethodName:     true,
	pb.MatchingService_CreateOffer_FullMethodName:          true,
}

// unary applies the call timeout, gives creates a request_id and retries
// idempotent calls that failed with UNAVAILABLE, and any call turned away
// for the rate (rateLimited). The timeout bounds the whole call, waits and
// retries included, so that a caller's worst case is the timeout it chose.
func (o options) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok && o.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.callTimeout)
		defer cancel()
	}
	req = withRequestID(method, req)
	ok, known := retryable[method]
	idempotent := known && ok(req)
	var lost error // an attempt that may have run, its reply lost
	for attempt := 0; ; attempt++ {
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		if err == nil || attempt >= o.retries || !(idempotent && status.Code(err) == codes.Unavailable || rateLimited(err)) {
			// A retry turned away for the rate was not run, but an
			// earlier attempt may have been: said as the rate alone, a
			// batch import stored with its reply lost was reported not
			// sent, and sent again by other means.
			if lost != nil && rateLimited(err) {
				return lost
			}
			return err
		}
		if status.Code(err) == codes.Unavailable {
			lost = err
		}
		if !sleep(ctx, o.delay(attempt)) {
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			// The deadline would pass before the next attempt: the
			// outage is the more useful thing to report.
			if lost != nil {
				return lost
			}
			return err
		}
	}
}

// rateLimited says whether err is the server turning a call away for its
// token's call rate. The server does so before it runs the call, so any
// call, even one that must not run twice, can be sent again; the server's
// own message asks the caller to slow down and retry, which the backoff
// does.
func rateLimited(err error) bool {
	return status.Code(err) == codes.ResourceExhausted && errorInfo(err).GetReason() == ReasonRateLimited
}

// stream passes streams through untouched: resuming one needs to know how
// far the caller got, which only Watch knows, and a call timeout would cut
// off a watch that is meant to run for hours.
func (o options) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(ctx, desc, cc, method, callOpts...)
}

// delay is how long to wait before retry number attempt+1: base doubled
// per attempt, capped, then jittered into its upper half. The jitter keeps
// the clients that one outage failed together from returning together;
// keeping the lower half out keeps the waits growing.
func (o options) delay(attempt int) time.Duration {
	base := o.backoff
	if base <= 0 {
		base = defaultBackoff
	}
	d := base
	for i := 0; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d, or until ctx is done, or returns false at once when
// ctx's deadline comes before d is up. It reports whether the full wait
// happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
