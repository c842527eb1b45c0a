package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Errors callers can test for with errors.Is. server/ maps them to gRPC
// codes; the store never decides what a caller is told.
var (
	ErrNotFound         = errors.New("not found")
	ErrExternalIDExists = errors.New("external id already used in this organisation")
	ErrEtagMismatch     = errors.New("etag does not match")
	ErrRequestIDReused  = errors.New("request id already used for a different request")
	ErrRequestIDGone    = errors.New("request id already used; what it created has since been deleted")
	ErrBadPageToken     = errors.New("page token is not valid for this query")
	// ErrLastAdminToken refuses to revoke the only admin token still
	// working: admin tokens are made only on an empty file, so nothing
	// could make another.
	ErrLastAdminToken = errors.New("it is the last admin token that works")
	// ErrKeyRotationPending comes, wrapped, with the result of an erasure
	// that committed but whose key rotation then failed (or a retry, with
	// nothing left to erase, whose rotation failed again): the key file
	// still opens the stale copies of the erased data keys until the next
	// erasure, purge, backup or Open finishes it, and the caller must say
	// so. It also comes with a backup that was taken although the
	// rotation due before it failed: that backup holds what was erased or
	// deleted since the last completed rotation.
	ErrKeyRotationPending = errors.New("the key rotation after the erasure is still to do")
	// ErrPassStale refuses the next page of a pass that must be read
	// whole under one key epoch (ListOpenMatchingInputs) when the keys
	// rotated since its first page: read it again from the start.
	ErrPassStale   = errors.New("the keys rotated since the pass began: start it again")
	ErrClosed      = errors.New("store is closed")
	ErrInUse       = errors.New("data file is in use by another process")
	ErrNewerSchema = errors.New("data file was written by a newer version")
	// ErrDamaged refuses a file that holds data but no schema version: not
	// a Doorstep file, or a copy of one made while the server wrote to it
	// (cp of a running server's file), whose root no longer names the
	// store's buckets. Taken for a new file, it would start as an empty
	// store over the wreck.
	// ErrNotDataFile refuses a file bbolt cannot read at all where the
	// data file should be: not a bbolt file (the key file copied over it,
	// a backup still compressed), or one cut short.
	ErrNotDataFile = errors.New("not a Doorstep data file")
	ErrDamaged     = errors.New("data file holds data but no schema version: it is not a Doorstep data file, or is a damaged copy of one (a copy made while the server was writing to it?); restore a backup (doorstep admin backup, or a copy taken with the server stopped)")
	// ErrTooLargeToMap refuses a data file larger than this system can
	// map: past 2 GiB where an int is 32 bits (32-bit Raspberry Pi OS,
	// 32-bit Debian). The file is whole, and opens on a 64-bit system.
	ErrTooLargeToMap = errors.New("data file is larger than this system can map")
	// ErrMapLimitReached refuses a write that would grow the data file
	// past the most this system can map (mappableSize): a 32-bit one's
	// 2 GiB. It is bbolt's own error, whichever of the store's writes met
	// it; the write changed nothing, and no write that needs more room
	// will succeed until the file and its key file move to a 64-bit build.
	ErrMapLimitReached = bolterrors.ErrMaxSizeReached

	// The matching lifecycle's refusals.
	ErrWrongState      = errors.New("not in a state that allows this")
	ErrAtCapacity      = errors.New("volunteer is at capacity")
	ErrVolunteerPaused = errors.New("volunteer has paused volunteering")
	ErrVolunteerHeld   = errors.New("volunteer is on hold")
	ErrDeclinedBefore  = errors.New("volunteer declined this request, let an offer of it lapse, or handed it back")
	ErrLeaseExpired    = errors.New("offer lease has expired")
	ErrRequestEnded    = errors.New("request's window or deadline has passed")
	ErrHasCommitments  = errors.New("has a live offer or assignment")
	ErrSameDoor        = errors.New("another volunteer is going to this door then")
	// ErrOwnRequest refuses an offer or accept whose volunteer is
	// registered on the number the request was made from (see
	// MatchingInput.Own), as the write's own transaction reads them.
	ErrOwnRequest = errors.New("the request was made from the volunteer's own phone number")
)

// AcceptCheck judges an accept, or another change that takes checks (an
// offer, an edit, a release), on the request and volunteer as stored; a
// non-nil error refuses it. It must not keep or change them.
type AcceptCheck func(req *pb.HelpRequest, vol *pb.Volunteer) error

// Lacking is an AcceptCheck error that names what the volunteer lacks for
// the job (skills, vetting), and the other rules it fails beside (their
// other jobs leave no room for it): an edit of an assigned request that
// the request as it was failed too stands only if it asks nothing new of
// them (keepTime).
type Lacking interface {
	error
	Lacking() []string
	// Only is the error for the lacks given alone, those an edit asks
	// anew, which its refusal names.
	Only(lacks []string) error
}

// lacking is what err says the volunteer lacks, if anything.
func lacking(err error) []string {
	var l Lacking
	if errors.As(err, &l) {
		return l.Lacking()
	}
	return nil
}

// Idempotency names a create call so that a retry returns the first
// result (AIP-155). An empty RequestID means no idempotency.
type Idempotency struct {
	RequestID string
	// Scope keeps one caller's request ids apart from another's: a partner
	// organisation's ids are its own, so that two partners who derive ids
	// the same way (a UUIDv5 of their own record number) never meet each
	// other's records. "" is the staff's shared scope.
	Scope string
	// Fingerprint identifies the request's content, so that reuse of a
	// request id for different content can be refused.
	Fingerprint [32]byte
}

// HelpRequestFilter selects help requests; empty fields select everything.
type HelpRequestFilter struct {
	State pb.HelpRequest_State
	// States are further states a request may be in, as State is one:
	// a request in any of them, or in State, is selected.
	States         []pb.HelpRequest_State
	PostcodePrefix string // normalised: "AB10 1AB", "AB10 1" or "AB10 "
	Organisation   string
	// Phone is E.164; the number in any form of it (phone.Today) selects
	// the same requests.
	Phone string
	// MinUrgency keeps requests at least this urgent, one stored without
	// an urgency counting as URGENCY_NORMAL; unspecified keeps all.
	MinUrgency pb.Urgency
}

// OfferFilter selects offers; empty fields select everything. Ids are
// without the collection prefix.
type OfferFilter struct {
	VolunteerID string
	RequestID   string
	State       pb.Offer_State
	// Live keeps only offers in force: PENDING, or ACCEPTED with the
	// request still ASSIGNED to that volunteer.
	Live bool
}

// VolunteerFilter selects volunteers; empty fields select everything.
type VolunteerFilter struct {
	PostcodePrefix string
	Organisation   string
	Skill          string
	Phone          string // as HelpRequestFilter's
}

// Page asks for one page of a list.
type Page struct {
	Size  int    // at least 1
	Token string // from the previous page, or empty for the first
}

// LatLng is a point in decimal degrees.
type LatLng struct{ Lat, Lng float64 }

// PostcodeLoadStats counts what a gazetteer load changed.
type PostcodeLoadStats struct {
	Stored  int // live postcodes written
	Removed int // terminated postcodes deleted because they were held
}

// PostcodeUpdate is one gazetteer change: a live postcode with its centre,
// or a terminated one to remove.
type PostcodeUpdate struct {
	Postcode string
	At       LatLng
	Remove   bool
}

// OfferParams says what offer to make. Ids are without the collection
// prefix.
type OfferParams struct {
	HelpRequestID string
	VolunteerID   string
	Lease         time.Duration // how long the volunteer has to answer; positive
	Dispatched    bool          // made by the dispatcher rather than a person
	// Idem, when it has a RequestID, makes a repeat of the call return the
	// offer first made instead of making another.
	Idem Idempotency
	// Check, if set, judges the offer on the request and volunteer as its
	// transaction reads them, after the store's own checks (an earlier
	// offer of the same write included); its error refuses the offer.
	Check AcceptCheck
	// SecondVolunteerOK lets the offer send a second volunteer to a door:
	// without it, an offer is refused with a *SameDoorError when another
	// volunteer holds another of the caller's requests at that place at a
	// time meeting this one's. Only visits count: a remote request's
	// volunteer goes to no door.
	SecondVolunteerOK bool
}

// LifecycleResult is what one lifecycle change left behind: the records it
// changed, as stored after it (contacts included), for the server's
// in-memory matching index. A field is nil when that record was not
// touched (Offer and Volunteer; HelpRequest is always set).
type LifecycleResult struct {
	Offer       *pb.Offer
	HelpRequest *pb.HelpRequest
	Volunteer   *pb.Volunteer
	// Repeat says that nothing was changed: a CreateOffer with the
	// request_id of one made before is answered with that offer, as it
	// is now. Two attempts racing each other both come to the store, and
	// only this tells the one that made the offer from the other.
	Repeat bool
	// PausedUnanswered says that the offer lapsed unanswered and paused
	// its volunteer, the last of WithPauseAfterUnanswered's offers in a
	// row: their other pending offers are the caller's to review.
	PausedUnanswered bool
}

// Store is what the server needs from persistence. Records passed in are
// not kept; records returned are the caller's own. Ids are the 26-character
// form, without the collection prefix.
type Store interface {
	// Backup writes a copy of the store as of one moment, and the key file
	// that opens it, into dir, which it creates; writes go on meanwhile.
	// An error wrapping ErrKeyRotationPending comes with a backup that was
	// written and kept, but holds what was erased since the last completed
	// key rotation.
	Backup(ctx context.Context, dir string) (BackupInfo, error)
	// RemoveBackup removes a backup Backup wrote, for good: a power cut
	// does not bring it back.
	RemoveBackup(dir string) error
	// CreateHelpRequest assigns the id, times, etag and state OPEN.
	CreateHelpRequest(ctx context.Context, hr *pb.HelpRequest, idem Idempotency) (*pb.HelpRequest, error)
	GetHelpRequest(ctx context.Context, id string) (*pb.HelpRequest, error)
	// GetHelpRequestByExternalID returns the request an organisation stored
	// under its own id.
	GetHelpRequestByExternalID(ctx context.Context, organisation, externalID string) (*pb.HelpRequest, error)
	// MatchingInputs returns a request without its personal fields, and
	// the volunteers who helped with the same requester's other requests
	// (matched by phone; fulfilled, or assigned with their time over):
	// what matching a request needs, in one read.
	MatchingInputs(ctx context.Context, id string) (*pb.HelpRequest, []string, error)
	// SameTimeRequests returns, for each of hrs (requests as stored, nil
	// allowed), the ids of the same requester's other live requests (OPEN,
	// OFFERED, ASSIGNED; the same phone, at the same postcode: one number
	// can be several people's, each at their own home) whose time overlaps
	// its own (a window [start, end), a deadline's [create_time,
	// deadline)), oldest
	// first and at most MaxSameTime of them; none for a request that is
	// not live itself or no longer stored. organisation, when not "",
	// keeps that organisation's only. It opens no personal data, and
	// reads once, in one transaction, for all of hrs.
	SameTimeRequests(ctx context.Context, hrs []*pb.HelpRequest, organisation string) ([][]string, error)
	// MatchingInput is MatchingInputs with the rest of what dispatch reads
	// of a request: its requester, and the volunteer already going to
	// their door at its time.
	MatchingInput(ctx context.Context, id string) (MatchingInput, error)
	// DoorAllows judges, as an offer's and an accept's own transactions
	// do, sending volunteer to the request's door: a *SameDoorError names
	// another volunteer going there at a time meeting its window.
	DoorAllows(ctx context.Context, requestID, volunteer string) error
	// ListOpenMatchingInputs lists the OPEN requests' matching inputs, in
	// pages, for the dispatcher. A pass is read under one key epoch, so
	// that one caller's Requester is the same on every page: a page asked
	// for after the keys rotated fails with ErrPassStale.
	ListOpenMatchingInputs(ctx context.Context, p Page) ([]MatchingInput, string, error)
	ListHelpRequests(ctx context.Context, f HelpRequestFilter, p Page) ([]*pb.HelpRequest, string, error)
	// UpdateHelpRequest replaces the stored request whose etag is hr.Etag
	// with hr (its name, organisation, external id and create time are kept
	// from the stored one) and returns it with its new etag. An edit of
	// the time or place of an ASSIGNED request is judged by checks, in its
	// own transaction, with the request as edited and its volunteer as
	// stored: an error refuses it, unless the edit keeps the window and
	// the checks refuse the request as it was too (no new refusal).
	UpdateHelpRequest(ctx context.Context, hr *pb.HelpRequest, checks ...AcceptCheck) (*pb.HelpRequest, error)
	// DeleteHelpRequest deletes a request and its offers; a non-empty etag
	// must match. An OFFERED or ASSIGNED request is ErrHasCommitments.
	DeleteHelpRequest(ctx context.Context, id, etag string) error

	CreateVolunteer(ctx context.Context, v *pb.Volunteer, idem Idempotency) (*pb.Volunteer, error)
	GetVolunteer(ctx context.Context, id string) (*pb.Volunteer, error)
	ListVolunteers(ctx context.Context, f VolunteerFilter, p Page) ([]*pb.Volunteer, string, error)
	// CountVolunteers is how many volunteers are stored.
	CountVolunteers(ctx context.Context) (int, error)
	// EachVolunteer reads every volunteer, in no particular order, in
	// short transactions: a large store's load at start. decode is called
	// on several goroutines at once with each volunteer's record, the wire
	// form of a pb.Volunteer without its personal fields (its bytes are the
	// caller's only until decode returns), and its contact, opened; what
	// decode returns is called from one goroutine at a time. An error from
	// either stops the walk and is returned.
	EachVolunteer(ctx context.Context, decode func(record []byte, contact *pb.Contact) (func() error, error)) error
	UpdateVolunteer(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error)
	// DeleteVolunteer deletes a volunteer; a non-empty etag must match. One
	// with active assignments or pending offers is ErrHasCommitments.
	DeleteVolunteer(ctx context.Context, id, etag string) error

	// The matching lifecycle. Each change is one transaction that checks
	// everything before it writes, and keeps every count and index in step:
	// a request has at most one live offer, and a volunteer's
	// active_assignments plus pending_offers never pass their capacity.
	// Times come from the store clock, except for the sweeps, which take
	// theirs from the caller.

	// CreateOffer offers an OPEN request to a volunteer who is not paused,
	// has not declined it and has room: the offer is PENDING until
	// now+Lease, or the request's window end or deadline if that comes
	// first, the request OFFERED. A request whose time has ended by then
	// is ErrRequestEnded.
	CreateOffer(ctx context.Context, p OfferParams) (LifecycleResult, error)
	// CreateOffers makes several offers at once, each checked as
	// CreateOffer checks it: results[i] and errs[i] are offer i's, and one
	// refused leaves the others made. err is for the whole write.
	CreateOffers(ctx context.Context, ps []OfferParams) (results []LifecycleResult, errs []error, err error)
	// OfferByRequestID returns the offer a CreateOffer with idem made:
	// ErrNotFound if none did, ErrRequestIDReused if one did with
	// different content, ErrRequestIDGone if its offer was deleted since.
	OfferByRequestID(ctx context.Context, idem Idempotency) (*pb.Offer, error)
	// HelpRequestByRequestID and VolunteerByRequestID return the record a
	// create with idem made, as it stands now, so that a retry answers
	// with the first result without being judged again: ErrNotFound if no
	// create used idem, ErrRequestIDReused if one did with other content,
	// ErrRequestIDGone if its record was deleted since.
	HelpRequestByRequestID(ctx context.Context, idem Idempotency) (*pb.HelpRequest, error)
	VolunteerByRequestID(ctx context.Context, idem Idempotency) (*pb.Volunteer, error)
	GetOffer(ctx context.Context, id string) (*pb.Offer, error)
	// ListOffersByRequest lists every offer ever made of a request, oldest
	// first.
	ListOffersByRequest(ctx context.Context, requestID string) ([]*pb.Offer, error)
	// ListOffers lists the offers f selects, a page at a time: oldest
	// first, except that PENDING offers selected by state alone come
	// soonest lease end first. An id that names nothing selects nothing.
	ListOffers(ctx context.Context, f OfferFilter, p Page) ([]*pb.Offer, string, error)
	// AcceptOffer assigns the request to the offer's volunteer. An offer
	// whose lease has passed is ErrLeaseExpired and is left to ExpireOffers;
	// one whose request's window has passed is ErrRequestEnded, left to
	// ExpireHelpRequests; a volunteer who has paused since is
	// ErrVolunteerPaused; one whose request another volunteer is now going
	// to the door for at a meeting time is a *SameDoorError, unless the
	// offer was made with SecondVolunteerOK. Each check, if any, judges the request and
	// volunteer as the accept's own transaction reads them, and its error
	// refuses the accept: a judgement no edit can slip under.
	AcceptOffer(ctx context.Context, offerID string, checks ...AcceptCheck) (LifecycleResult, error)
	// DeclineOffer opens the request again, never to be offered to that
	// volunteer again.
	DeclineOffer(ctx context.Context, offerID string) (LifecycleResult, error)
	// WithdrawOffer takes back a PENDING offer whose volunteer can no
	// longer take its request (one of them changed since it was made),
	// and opens the request again. Unlike a decline, the volunteer may be
	// offered it again later; but an offer whose lease has passed lapses
	// instead (EXPIRED), as the sweep would have lapsed it. why is the
	// rule broken, kept as the offer's withdraw_reason.
	WithdrawOffer(ctx context.Context, offerID, why string) (LifecycleResult, error)
	// WithdrawAnswered is WithdrawOffer for an offer its volunteer
	// accepted at answered, within its lease, and the rules refused: they
	// answered, so it is withdrawn however late the withdrawal comes, and
	// their answer ends their run of unanswered offers as a decline's does.
	WithdrawAnswered(ctx context.Context, offerID, why string, answered time.Time) (LifecycleResult, error)
	// ExpireOffers expires up to limit PENDING offers whose lease ended at
	// or before now, as DeclineOffer would decline them. A PENDING offer
	// made after now, by a clock since set back, it withdraws
	// (CLOCK_SET_BACK), leaving the volunteer free to be offered it again.
	// Each lapse counts against its volunteer, and may pause them
	// (WithPauseAfterUnanswered, LifecycleResult.PausedUnanswered); an
	// accept or a decline sets their count back to 0.
	ExpireOffers(ctx context.Context, now time.Time, limit int) ([]LifecycleResult, error)
	// CompleteHelpRequest marks an ASSIGNED request FULFILLED. Each check,
	// if any, judges the request and its volunteer as the completion's own
	// transaction reads them, as ReleaseHelpRequest's do.
	CompleteHelpRequest(ctx context.Context, requestID string, checks ...AcceptCheck) (LifecycleResult, error)
	// ReleaseHelpRequest hands an ASSIGNED request back from a volunteer
	// who can no longer do it: the request is OPEN again, without an
	// assigned volunteer, and never offered to them again (they join its
	// declined_volunteers); their assignment and its commitment are freed.
	// Each check, if any, judges the request and its volunteer as the
	// release's own transaction reads them, and its error refuses the
	// release: a caller holding a volunteer to their own assignment is not
	// outrun by a release and a new assignment between its read and this.
	ReleaseHelpRequest(ctx context.Context, requestID string, checks ...AcceptCheck) (LifecycleResult, error)
	// CancelHelpRequest cancels an OPEN, OFFERED or ASSIGNED request,
	// withdrawing its offer or freeing its volunteer.
	CancelHelpRequest(ctx context.Context, requestID string) (LifecycleResult, error)
	// ExpireHelpRequests expires up to limit OPEN or OFFERED requests whose
	// window or deadline ended before now, withdrawing their offers.
	ExpireHelpRequests(ctx context.Context, now time.Time, limit int) ([]LifecycleResult, error)
	// CloseEndedAssignments marks FULFILLED up to limit ASSIGNED requests
	// whose window or deadline ended before endedBefore, freeing their
	// volunteers: help given that nobody marked done.
	CloseEndedAssignments(ctx context.Context, endedBefore time.Time, limit int) ([]LifecycleResult, error)

	// LookupPostcode returns a normalised postcode's centre.
	LookupPostcode(ctx context.Context, postcode string) (LatLng, error)
	// LoadPostcodes applies gazetteer updates read from next until it
	// returns false or an error.
	LoadPostcodes(ctx context.Context, next func() (PostcodeUpdate, bool, error)) (PostcodeLoadStats, error)

	// The event log (see the package doc). ReadEvents reads from revision
	// from onward, whole revisions, at least limit events unless the log
	// ends; a from below OldestEventRevision is a *CompactedError.
	ReadEvents(ctx context.Context, from uint64, limit int) (EventPage, error)
	OldestEventRevision() (uint64, error)
	// CompactEvents deletes the events committed before cutoff.
	CompactEvents(ctx context.Context, cutoff time.Time) (int, error)
	// Changes returns the last committed revision and a channel closed
	// when a later one commits.
	Changes() (uint64, <-chan struct{})

	// Who may call (see auth.go). Secrets are never stored: tokens are
	// found by the SHA-256 of theirs.
	CreateToken(ctx context.Context, t *pb.Token, hash [32]byte, onlyIfNone bool) (*pb.Token, error)
	TokenByHash(ctx context.Context, hash [32]byte) (*pb.Token, error)
	ListTokens(ctx context.Context, p Page) ([]*pb.Token, string, error)
	RevokeToken(ctx context.Context, id string) (*pb.Token, error)
	CreateOrganisation(ctx context.Context, o *pb.Organisation, slug string) (*pb.Organisation, error)
	GetOrganisation(ctx context.Context, slug string) (*pb.Organisation, error)
	ListOrganisations(ctx context.Context, p Page) ([]*pb.Organisation, string, error)
	// RecordAudit makes audit records durable; writes made with a context
	// from WithAudit record theirs in their own transaction.
	RecordAudit(ctx context.Context, recs []*pb.AuditRecord) error
	ListAuditRecords(ctx context.Context, f AuditFilter, p Page) ([]*pb.AuditRecord, string, error)

	// Personal data rights and retention (see personal.go): phone numbers
	// are E.164.
	ErasePerson(ctx context.Context, phone string, now time.Time, erased ...func(ErasureResult)) (ErasureResult, error)
	ExportPerson(ctx context.Context, phone string) (PersonExport, error)
	PurgePersonalData(ctx context.Context, closedBefore time.Time, limit int) (int, error)

	Close() error
}

// CommitmentsError is ErrHasCommitments naming the record that has the
// live offer or assignment, for a change (an erasure) that spans several
// records, so that the caller can say which one to settle first.
type CommitmentsError struct {
	Resource string // "helpRequests/{id}" or "volunteers/{id}"
	err      error
}

func (e *CommitmentsError) Error() string { return e.Resource + ": " + e.err.Error() }

// Unwrap makes errors.Is(err, ErrHasCommitments) hold.
func (e *CommitmentsError) Unwrap() error { return e.err }

// SameDoorError refuses an offer that would send a second volunteer to
// one door: Coming ("volunteers/{id}") holds, offered or assigned, another
// of the caller's requests at that place at a time meeting this one's.
type SameDoorError struct {
	Coming string
	// Declined says that Coming declined this request or handed it back
	// (they are among its declined_volunteers): it cannot go to them too.
	Declined bool
}

func (e *SameDoorError) Error() string { return ErrSameDoor.Error() + ": " + e.Coming }

// Unwrap makes errors.Is(err, ErrSameDoor) hold.
func (e *SameDoorError) Unwrap() error { return ErrSameDoor }

// commitmentsOf names resource in err if err is ErrHasCommitments.
func commitmentsOf(resource string, err error) error {
	if errors.Is(err, ErrHasCommitments) {
		return &CommitmentsError{Resource: resource, err: err}
	}
	return fmt.Errorf("%s: %w", resource, err)
}
