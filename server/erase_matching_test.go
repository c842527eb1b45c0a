package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// erasureWatch is a store that runs during() inside ErasePerson, once the
// erasure has committed and the server has been told, before the key
// rotation: the moment a helpline search must already be without the
// erased volunteer, since the rotation can take seconds.
type erasureWatch struct {
	store.Store
	during func()
}

func (e erasureWatch) ErasePerson(ctx context.Context, phone string, now time.Time, erased ...func(store.ErasureResult)) (store.ErasureResult, error) {
	return e.Store.ErasePerson(ctx, phone, now, append(erased, func(store.ErasureResult) { e.during() })...)
}

// TestErasedVolunteerLeavesMatchingAtOnce: once an erasure has committed,
// before the key rotation that follows it, FindCandidates no longer
// offers the erased volunteer (by name) to the helpline, nor dispatch.
func TestErasedVolunteerLeavesMatchingAtOnce(t *testing.T) {
	h := newHarness(t)
	var checked bool
	var hr *pb.HelpRequest
	var gone *pb.Volunteer
	h.wrap = func(st store.Store) store.Store {
		return erasureWatch{Store: st, during: func() {
			checked = true
			if _, err := h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: gone.Name}); status.Code(err) != codes.NotFound {
				t.Errorf("during the rotation the erased volunteer reads as %v, want NOT_FOUND", err)
			}
			if got := candNames(t, h, hr.Name); slices.Contains(got, gone.Name) {
				t.Errorf("during the rotation FindCandidates still ranks the erased volunteer: %v", got)
			}
		}}
	}
	h.reopen()
	admin := pb.NewAdminServiceClient(h.conn)
	gone = h.createVol(matchVolunteer("Erased Person", "AB10 1AB", phoned("07700 900555")))
	hr = h.createHR(shopping(callerPhone("01224 000009")))
	if got := candNames(t, h, hr.Name); len(got) != 1 || got[0] != gone.Name {
		t.Fatalf("before erasure: candidates %v", got)
	}
	resp, err := admin.ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "07700 900555"})
	if err != nil || resp.VolunteersErased != 1 || !checked {
		t.Fatalf("erase: %v %v (checked during: %v)", resp, err, checked)
	}
	d, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || d.OffersMade != 0 {
		t.Errorf("dispatch after the erasure: %v %v", d, err)
	}
}
