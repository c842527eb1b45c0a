package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// editedMidRewrite edits the first request it lists under the older form
// of a number, as staff or the dispatcher may between the read of the
// caller's requests and the write of the form today on them.
type editedMidRewrite struct {
	store.Store
	old  string
	once sync.Once
}

func (e *editedMidRewrite) ListHelpRequests(ctx context.Context, f store.HelpRequestFilter, p store.Page) ([]*pb.HelpRequest, string, error) {
	rs, next, err := e.Store.ListHelpRequests(ctx, f, p)
	if err == nil && f.Phone == e.old && len(rs) > 0 {
		e.once.Do(func() {
			cur, gerr := e.Store.GetHelpRequest(ctx, strings.TrimPrefix(rs[0].Name, "helpRequests/"))
			if gerr == nil {
				cur.Urgency = pb.Urgency_URGENCY_HIGH
				_, _ = e.Store.UpdateHelpRequest(ctx, cur)
			}
		})
	}
	return rs, next, err
}

func (e *editedMidRewrite) ListVolunteers(ctx context.Context, f store.VolunteerFilter, p store.Page) ([]*pb.Volunteer, string, error) {
	vs, next, err := e.Store.ListVolunteers(ctx, f, p)
	if err == nil && f.Phone == e.old && len(vs) > 0 {
		e.once.Do(func() {
			cur, gerr := e.Store.GetVolunteer(ctx, strings.TrimPrefix(vs[0].Name, "volunteers/"))
			if gerr == nil {
				cur.Skills = append(cur.Skills, "driver")
				_, _ = e.Store.UpdateVolunteer(ctx, cur)
			}
		})
	}
	return vs, next, err
}

// TestTrunkZeroStoredEarlierEditedMeanwhile: the daughter's request in
// hand, stored by an older version as +3530871234567, is Ann's. She rings
// again for the same morning as staff raise the first's urgency: the
// form today, written on the request as read before that edit, was
// refused on its etag and given up, and the new request was told of no
// request at the same time, and Bob could be offered it for Ann's door.
func TestTrunkZeroStoredEarlierEditedMeanwhile(t *testing.T) {
	h := newHarness(t)
	h.wrap = func(st store.Store) store.Store { return &editedMidRewrite{Store: st, old: "+3530871234567"} }
	h.reopen()
	secondCallHeld(t, h)
}

// TestTrunkZeroStoredEarlierVolunteerEditedMeanwhile: as for a request in
// hand, Siobhán's volunteer record, stored by an older version as
// +3530871234567, edited by her coordinator as she rings for help: she was
// offered her own request.
func TestTrunkZeroStoredEarlierVolunteerEditedMeanwhile(t *testing.T) {
	h := newHarness(t)
	h.wrap = func(st store.Store) store.Store { return &editedMidRewrite{Store: st, old: "+3530871234567"} }
	h.reopen()
	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned("+353 87 123 4567")))
	legacyVolunteer(t, h, self.Name, func(v *pb.Volunteer) { v.Contact.Phone = "+3530871234567" })
	hr := h.createHR(shopping(callerPhone("+353 087 123 4567")))
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: self.Name}); err == nil {
		t.Errorf("Siobhán was offered her own request")
	}
}
