package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// editBeforeAccept runs before, once, as the accept reaches the store:
// an edit landing while the accept is on its way, after its review.
type editBeforeAccept struct {
	store.Store
	before func()
}

func (e *editBeforeAccept) AcceptOffer(ctx context.Context, offerID string, checks ...store.AcceptCheck) (store.LifecycleResult, error) {
	if f := e.before; f != nil {
		e.before = nil
		f()
	}
	return e.Store.AcceptOffer(ctx, offerID, checks...)
}

// TestLeftOutOfMatchingStillNotTwoPlacesAtOnce: Ola's home was stored at
// 0, 0 by an older version, so she is left out of matching until someone
// gives her real place; she still holds an errand on Union Street
// 10:00-11:00 tomorrow and an offer of one on Crown Street at 14:00. The
// second caller's errand is moved to 10:00-11:00: with nothing to judge
// her by, the offer stood and her accept was taken, sending her to two
// streets at once. Her other jobs need no place to be judged by: the
// edit's review withdraws the offer (BUSY), and an accept the edit
// overtakes on its way is refused, the offer withdrawn.
func TestLeftOutOfMatchingStillNotTwoPlacesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		race bool // the edit lands after the accept's review
	}{
		{"edited, then accepted", false},
		{"edited while the accept is on its way", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			wrap := &editBeforeAccept{}
			h.wrap = func(st store.Store) store.Store { wrap.Store = st; return wrap }
			h.reopen()
			ola := h.createVol(matchVolunteer("Ola", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 2 }))
			tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			at := func(from time.Duration) *pb.HelpRequest_Window {
				return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(from + time.Hour))}}
			}
			errand := func(street, phone string, from time.Duration) *pb.HelpRequest {
				return h.createHR(shopping(func(r *pb.HelpRequest) {
					r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
					r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street}
					r.Requester.Phone = phone
					r.Timing = at(from)
				}))
			}
			first := errand("Union Street", "01224 700001", 10*time.Hour)
			second := errand("Crown Street", "01224 700002", 14*time.Hour)
			h.invAssign(first.Name, ola.Name)
			o := h.offer(second.Name, ola.Name)
			h.atNullIslandInStore(ola.Name)
			h.reopen()
			if tc.race {
				// Straight to the store, as the edit's write lands: its
				// review has not yet run when the accept's write judges.
				wrap.before = func() {
					r, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(second.Name, "helpRequests/"))
					if err != nil {
						t.Fatal(err)
					}
					r.Timing = at(10 * time.Hour)
					if _, err := h.st.UpdateHelpRequest(h.ctx, r); err != nil {
						t.Fatal(err)
					}
				}
			} else if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: second.Name, Timing: at(10 * time.Hour)},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}}}); err != nil {
				t.Fatal(err)
			} else if r := h.getHR(second.Name); r.State != pb.HelpRequest_STATE_OPEN {
				// Open to others at once, not when her answer comes.
				t.Errorf("after the edit the request is %v, want open", r.State)
			}
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err == nil {
				t.Errorf("the accept of an errand on Crown Street at the time of hers on Union Street was taken")
			}
			got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o.Name})
			if err != nil {
				t.Fatal(err)
			}
			if got.Offer.State != pb.Offer_STATE_WITHDRAWN || got.Offer.WithdrawReason != "BUSY" {
				t.Errorf("the offer is %v (%q), want withdrawn for BUSY", got.Offer.State, got.Offer.WithdrawReason)
			}
			if v := h.getVol(ola.Name); v.ActiveAssignments != 1 || len(v.Commitments) != 1 {
				t.Errorf("Ola: %d assignments, commitments %v", v.ActiveAssignments, v.Commitments)
			}
		})
	}
}
