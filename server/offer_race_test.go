package server_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// beforeOffer is a store that runs before() once, as the first offer's
// write begins: the moment after the offer was judged, before it is made.
type beforeOffer struct {
	store.Store
	once   *sync.Once
	before func()
}

func (b beforeOffer) CreateOffers(ctx context.Context, ps []store.OfferParams) ([]store.LifecycleResult, []error, error) {
	b.once.Do(b.before)
	return b.Store.CreateOffers(ctx, ps)
}

func (b beforeOffer) CreateOffer(ctx context.Context, p store.OfferParams) (store.LifecycleResult, error) {
	b.once.Do(b.before)
	return b.Store.CreateOffer(ctx, p)
}

// TestOfferRacingAnEdit: an edit that lands after an offer was judged
// (by dispatch's plan, or by hand) and before it is written finds no
// offer for its review to withdraw; the offer's own write judges the
// records again, so that the request is not held for a volunteer the
// rules now turn away. Ann lives 0.8 km from the request.
func TestOfferRacingAnEdit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		byHand bool
		edit   func(h *harness, hr, vol string) error
	}{
		{"volunteer now goes 100 m only, dispatch", false, shortReach},
		{"volunteer now goes 100 m only, by hand", true, shortReach},
		{"request now needs Welsh, dispatch", false, needsWelsh},
		{"request now needs Welsh, by hand", true, needsWelsh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var edit func()
			h.wrap = func(st store.Store) store.Store {
				return beforeOffer{Store: st, once: new(sync.Once), before: func() { edit() }}
			}
			h.reopen()
			ann := h.createVol(matchVolunteer("Ann", "AB11 5QN"))
			hr := h.createHR(shopping())
			edit = func() {
				if err := tc.edit(h, hr.Name, ann.Name); err != nil {
					t.Errorf("edit: %v", err)
				}
			}
			if tc.byHand {
				_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name})
				wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
			} else {
				resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
				if err != nil || resp.OffersMade != 0 || resp.Uncovered != 1 {
					t.Errorf("dispatch: %v %v; want no offer made", resp, err)
				}
			}
			if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN {
				t.Errorf("request %v with offer %s: held for a volunteer who can no longer take it", got.State, got.Offer)
			}
			if got := h.getVol(ann.Name); got.PendingOffers != 0 {
				t.Errorf("Ann holds %d offers", got.PendingOffers)
			}
		})
	}
}

func shortReach(h *harness, _, vol string) error {
	_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: vol, MaxDistanceMetres: 100},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"max_distance_metres"}},
	})
	return err
}

func needsWelsh(h *harness, hr, _ string) error {
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr, RequiredSkills: []string{"welsh"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"required_skills"}},
	})
	return err
}
