package store

import (
	"context"
	"errors"

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
	ErrClosed           = errors.New("store is closed")
	ErrInUse            = errors.New("data file is in use by another process")
	ErrNewerSchema      = errors.New("data file was written by a newer version")
)

// Idempotency names a create call so that a retry returns the first
// result (AIP-155). An empty RequestID means no idempotency.
type Idempotency struct {
	RequestID string
	// Fingerprint identifies the request's content, so that reuse of a
	// request id for different content can be refused.
	Fingerprint [32]byte
}

// HelpRequestFilter selects help requests; empty fields select everything.
type HelpRequestFilter struct {
	State          pb.HelpRequest_State
	PostcodePrefix string // normalised: "AB10 1AB", "AB10 1" or "AB10 "
	Organisation   string
	Phone          string // E.164
}

// VolunteerFilter selects volunteers; empty fields select everything.
type VolunteerFilter struct {
	PostcodePrefix string
	Organisation   string
	Skill          string
	Phone          string
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

// Store is what the server needs from persistence. Records passed in are
// not kept; records returned are the caller's own. Ids are the 26-character
// form, without the collection prefix.
type Store interface {
	// CreateHelpRequest assigns the id, times, etag and state OPEN.
	CreateHelpRequest(ctx context.Context, hr *pb.HelpRequest, idem Idempotency) (*pb.HelpRequest, error)
	GetHelpRequest(ctx context.Context, id string) (*pb.HelpRequest, error)
	ListHelpRequests(ctx context.Context, f HelpRequestFilter, p Page) ([]*pb.HelpRequest, string, error)
	// UpdateHelpRequest replaces the stored request whose etag is hr.Etag
	// with hr (its name, organisation, external id and create time are kept
	// from the stored one) and returns it with its new etag.
	UpdateHelpRequest(ctx context.Context, hr *pb.HelpRequest) (*pb.HelpRequest, error)
	// DeleteHelpRequest deletes a request; a non-empty etag must match.
	DeleteHelpRequest(ctx context.Context, id, etag string) error

	CreateVolunteer(ctx context.Context, v *pb.Volunteer, idem Idempotency) (*pb.Volunteer, error)
	GetVolunteer(ctx context.Context, id string) (*pb.Volunteer, error)
	ListVolunteers(ctx context.Context, f VolunteerFilter, p Page) ([]*pb.Volunteer, string, error)
	UpdateVolunteer(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error)
	DeleteVolunteer(ctx context.Context, id, etag string) error

	// LookupPostcode returns a normalised postcode's centre.
	LookupPostcode(ctx context.Context, postcode string) (LatLng, error)
	// LoadPostcodes applies gazetteer updates read from next until it
	// returns false or an error.
	LoadPostcodes(ctx context.Context, next func() (PostcodeUpdate, bool, error)) (PostcodeLoadStats, error)

	Close() error
}
