package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"iter"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// NewRequestID returns a random (version 4) UUID, the form the server
// accepts as a request_id: for a program that sends its own, to ask again
// under it after a call it gave up on (see CreateHelpRequest).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand panics instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// CreateHelpRequest stores hr under a fresh request_id, so that the
// retries this client makes after a lost reply return the request first
// stored instead of storing it twice. hr itself is not changed. The id is
// this call's alone: a call that failed in the end (DEADLINE_EXCEEDED,
// UNAVAILABLE, the program stopped) may still have stored hr, and calling
// again stores a second. A program that tries again itself sends its own
// request_id, a UUID (NewRequestID makes one) kept with its own record,
// through the stub, which this client retries in the same way:
//
//	c.HelpRequests.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr, RequestId: id})
//
// The same hr sent again under it is stored once; a changed one is
// refused (REQUEST_ID_REUSED), and so is any once the request it stored
// was deleted (REQUEST_ID_TARGET_DELETED). After the person's data was
// erased, or removed by retention, the record is still there: the same hr
// answers with what is left of it (cancelled by the erasure if it was
// open; without the person's details).
//
// It returns
// the stored request only: CreateHelpRequestReply also says whether the
// requester has other requests for the same time.
func (c *Client) CreateHelpRequest(ctx context.Context, hr *pb.HelpRequest) (*pb.HelpRequest, error) {
	resp, err := c.CreateHelpRequestReply(ctx, hr)
	if err != nil {
		return nil, err
	}
	return resp.GetHelpRequest(), nil
}

// CreateHelpRequestReply is CreateHelpRequest with the server's whole
// reply: the stored request, and in SameTimeRequests the names
// ("helpRequests/{id}") of the requester's other live requests (same
// phone; OPEN, OFFERED or ASSIGNED) whose time overlaps the new one's,
// that this client's token may read, oldest first, at most 10. One there
// may be the same need taken twice (a caller who rang twice, a client sent
// under two references): cancel one if so. Nothing is refused for it. A
// reply to one of this client's retries names them as things stood at
// the retry.
func (c *Client) CreateHelpRequestReply(ctx context.Context, hr *pb.HelpRequest) (*pb.CreateHelpRequestResponse, error) {
	resp, err := c.HelpRequests.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr, RequestId: NewRequestID()})
	if err != nil {
		return nil, fmt.Errorf("client: create help request: %w", err)
	}
	return resp, nil
}

// CreateVolunteer stores v under a fresh request_id, as CreateHelpRequest
// does, but for erasure: it deletes a volunteer whole, so their own
// request_id sent again after it is refused as after a deletion
// (REQUEST_ID_TARGET_DELETED), and registers nobody.
func (c *Client) CreateVolunteer(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error) {
	resp, err := c.Volunteers.CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: v, RequestId: NewRequestID()})
	if err != nil {
		return nil, fmt.Errorf("client: create volunteer: %w", err)
	}
	return resp.GetVolunteer(), nil
}

// GetHelpRequest returns the request named "helpRequests/{id}".
func (c *Client) GetHelpRequest(ctx context.Context, name string) (*pb.HelpRequest, error) {
	resp, err := c.HelpRequests.GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("client: get %s: %w", name, err)
	}
	return resp.GetHelpRequest(), nil
}

// GetVolunteer returns the volunteer named "volunteers/{id}".
func (c *Client) GetVolunteer(ctx context.Context, name string) (*pb.Volunteer, error) {
	resp, err := c.Volunteers.GetVolunteer(ctx, &pb.GetVolunteerRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("client: get %s: %w", name, err)
	}
	return resp.GetVolunteer(), nil
}

// AllHelpRequests yields every request that filter matches, fetching page
// after page as the loop asks for more. filter's page_token is ignored and
// filter itself is not changed. A failed page ends the sequence with its
// error; a break stops fetching.
//
// There is no lookup by external_id: ListHelpRequests filters by
// organisation at most, so finding one partner id means reading the whole
// organisation. ImportHelpRequests answers that need for a partner's own
// rows, since a row already stored comes back with existing = true.
func (c *Client) AllHelpRequests(ctx context.Context, filter *pb.ListHelpRequestsRequest) iter.Seq2[*pb.HelpRequest, error] {
	return allPages("help requests", func(token string) ([]*pb.HelpRequest, string, error) {
		req := cloneFilter(filter)
		req.PageToken = token
		resp, err := c.HelpRequests.ListHelpRequests(ctx, req)
		return resp.GetHelpRequests(), resp.GetNextPageToken(), err
	})
}

// InHand returns the states of a request still in hand: waiting for a
// volunteer (OPEN), offered to one who has not answered (OFFERED), or
// taken by one (ASSIGNED). As ListHelpRequestsRequest.States it lists
// everything still to be seen through, as at a shift's handover:
//
//	filter := &pb.ListHelpRequestsRequest{States: client.InHand(), MinUrgency: pb.Urgency_URGENCY_HIGH}
//	for hr, err := range c.AllHelpRequests(ctx, filter) { ... }
//
// Each call returns a new slice, the caller's to change. A server older
// than ListHelpRequestsRequest.states drops the field unread and lists
// requests in every state: an app that must not show closed ones as in
// hand checks each request's state.
func InHand() []pb.HelpRequest_State {
	return []pb.HelpRequest_State{pb.HelpRequest_STATE_OPEN, pb.HelpRequest_STATE_OFFERED, pb.HelpRequest_STATE_ASSIGNED}
}

// RequestEnded says when hr's time ended, its window's end or its
// deadline, and whether that was before now, as the server judges it. An
// ASSIGNED request whose time has ended stays ASSIGNED until someone marks
// it fulfilled (or, with nobody marking it, until the server's sweep does,
// a while after: doorstepd --assignment-grace): one that has ended is a
// job to chase its volunteer about. A request with neither a window nor a
// deadline never ends.
func RequestEnded(hr *pb.HelpRequest, now time.Time) (end time.Time, ended bool) {
	var ts *timestamppb.Timestamp
	switch t := hr.GetTiming().(type) {
	case *pb.HelpRequest_Window:
		ts = t.Window.GetEndTime()
	case *pb.HelpRequest_Deadline:
		ts = t.Deadline
	}
	if ts == nil {
		return time.Time{}, false
	}
	end = ts.AsTime()
	return end, end.Before(now)
}

// AllVolunteers yields every volunteer that filter matches, as
// AllHelpRequests does for requests.
func (c *Client) AllVolunteers(ctx context.Context, filter *pb.ListVolunteersRequest) iter.Seq2[*pb.Volunteer, error] {
	return allPages("volunteers", func(token string) ([]*pb.Volunteer, string, error) {
		req := cloneFilter(filter)
		req.PageToken = token
		resp, err := c.Volunteers.ListVolunteers(ctx, req)
		return resp.GetVolunteers(), resp.GetNextPageToken(), err
	})
}

// AllOffers yields every offer that filter matches (a volunteer's, a
// request's, those in one state), as AllHelpRequests does for requests.
// With a volunteer's token it yields that volunteer's own.
func (c *Client) AllOffers(ctx context.Context, filter *pb.ListOffersRequest) iter.Seq2[*pb.Offer, error] {
	return allPages("offers", func(token string) ([]*pb.Offer, string, error) {
		req := cloneFilter(filter)
		req.PageToken = token
		resp, err := c.Matching.ListOffers(ctx, req)
		return resp.GetOffers(), resp.GetNextPageToken(), err
	})
}

// cloneFilter copies a caller's filter, or makes an empty one for nil, so
// that paging never writes to the caller's message (a copy per page, so
// that two loops over one sequence share nothing).
func cloneFilter[M interface {
	proto.Message
	*T
}, T any](filter M) M {
	if filter == nil {
		return M(new(T))
	}
	return proto.CloneOf(filter)
}

// allPages yields the items of one List call's pages in order: fetch gets
// the page token ("" for the first page) and returns a page. A failed page
// ends the sequence with its error; a break stops fetching.
func allPages[T any](what string, fetch func(token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		token := ""
		for page := 1; ; page++ {
			items, next, err := fetch(token)
			if err != nil {
				var zero T
				yield(zero, fmt.Errorf("client: list %s, page %d: %w", what, page, err))
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			token = next
		}
	}
}
