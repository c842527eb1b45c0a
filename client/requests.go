package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"iter"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// newRequestID returns a random (version 4) UUID, the form the server
// accepts as a request_id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand panics instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// CreateHelpRequest stores hr under a fresh request_id, so that the
// retries this client makes after a lost reply return the request first
// stored instead of storing it twice. hr itself is not changed.
func (c *Client) CreateHelpRequest(ctx context.Context, hr *pb.HelpRequest) (*pb.HelpRequest, error) {
	resp, err := c.HelpRequests.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr, RequestId: newRequestID()})
	if err != nil {
		return nil, fmt.Errorf("client: create help request: %w", err)
	}
	return resp.GetHelpRequest(), nil
}

// CreateVolunteer stores v under a fresh request_id, as CreateHelpRequest
// does.
func (c *Client) CreateVolunteer(ctx context.Context, v *pb.Volunteer) (*pb.Volunteer, error) {
	resp, err := c.Volunteers.CreateVolunteer(ctx, &pb.CreateVolunteerRequest{Volunteer: v, RequestId: newRequestID()})
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
	return func(yield func(*pb.HelpRequest, error) bool) {
		req := &pb.ListHelpRequestsRequest{}
		if filter != nil {
			req = proto.CloneOf(filter)
		}
		req.PageToken = ""
		for page := 1; ; page++ {
			resp, err := c.HelpRequests.ListHelpRequests(ctx, req)
			if err != nil {
				yield(nil, fmt.Errorf("client: list help requests, page %d: %w", page, err))
				return
			}
			for _, hr := range resp.GetHelpRequests() {
				if !yield(hr, nil) {
					return
				}
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return
			}
		}
	}
}

// AllVolunteers yields every volunteer that filter matches, as
// AllHelpRequests does for requests.
func (c *Client) AllVolunteers(ctx context.Context, filter *pb.ListVolunteersRequest) iter.Seq2[*pb.Volunteer, error] {
	return func(yield func(*pb.Volunteer, error) bool) {
		req := &pb.ListVolunteersRequest{}
		if filter != nil {
			req = proto.CloneOf(filter)
		}
		req.PageToken = ""
		for page := 1; ; page++ {
			resp, err := c.Volunteers.ListVolunteers(ctx, req)
			if err != nil {
				yield(nil, fmt.Errorf("client: list volunteers, page %d: %w", page, err))
				return
			}
			for _, v := range resp.GetVolunteers() {
				if !yield(v, nil) {
					return
				}
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return
			}
		}
	}
}
