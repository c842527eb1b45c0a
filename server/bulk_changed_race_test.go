package server_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// storedSinceLookup is a store whose lookup of a row by external_id,
// once armed, finds nothing: the row's request is stored by another call
// between the batch's lookup and its create, which then fails with
// ErrExternalIDExists and finds it.
type storedSinceLookup struct {
	store.Store
	armed bool
}

func (s *storedSinceLookup) GetHelpRequestByExternalID(ctx context.Context, org, ext string) (*pb.HelpRequest, error) {
	if s.armed {
		s.armed = false
		return nil, store.ErrNotFound
	}
	return s.Store.GetHelpRequestByExternalID(ctx, org, ext)
}

// TestBatchRowStoredMeanwhileComparedAsSent: a partner's row without an
// urgency or coordinates, whose request another call stored a moment
// before (the nightly job started twice, one run a little ahead; staff
// entering the same referral) with its urgency high and the address's
// coordinates. Found by the create's refusal rather than the lookup, the
// row was compared as the create had filled it in (urgency normal, the
// postcode's centre) and came back with differing_fields "urgency" and
// "location.lat_lng", values the row never gave; found by the lookup it
// differs in neither.
func TestBatchRowStoredMeanwhileComparedAsSent(t *testing.T) {
	h := newHarness(t)
	wrap := &storedSinceLookup{}
	h.wrap = func(st store.Store) store.Store { wrap.Store = st; return wrap }
	h.reopen()
	base := bulkRow("fb-race") // no urgency, no coordinates
	first := proto.CloneOf(base)
	first.Urgency = pb.Urgency_URGENCY_HIGH
	first.Location.LatLng = &pb.LatLng{Latitude: 57.1441, Longitude: -2.1144}
	resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{first}})
	if err != nil || resp.Results[0].GetError() != nil {
		t.Fatal(err, resp)
	}
	for _, armed := range []bool{false, true} {
		wrap.armed = armed
		resp, err := h.hr.BatchCreateHelpRequests(h.ctx, &pb.BatchCreateHelpRequestsRequest{HelpRequests: []*pb.HelpRequest{proto.CloneOf(base)}})
		if err != nil {
			t.Fatal(err)
		}
		if wrap.armed {
			t.Fatal("the lookup was never made")
		}
		r := resp.Results[0]
		if !r.GetExisting() || len(r.GetDifferingFields()) != 0 {
			t.Errorf("found by the lookup %v: existing %v, differing fields %q; want existing, none (the row gives no urgency or coordinates)",
				!armed, r.GetExisting(), r.GetDifferingFields())
		}
	}
}
