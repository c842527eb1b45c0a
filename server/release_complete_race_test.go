package server_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// beforeComplete is a store that runs before() once, as the first
// completion's write begins: after the server judged whose assignment it
// is, before the store marks it done.
type beforeComplete struct {
	store.Store
	once   *sync.Once
	before func()
}

func (b beforeComplete) CompleteHelpRequest(ctx context.Context, id string, checks ...store.AcceptCheck) (store.LifecycleResult, error) {
	b.once.Do(b.before)
	return b.Store.CompleteHelpRequest(ctx, id, checks...)
}

// TestCompleteRacingARelease: Callum's app marks his job done just as the
// helpline, told he could not go, hands it back and Isla takes it. His
// late "done" must not close Isla's job, which she has not done: it is
// refused, and the request stays hers.
func TestCompleteRacingARelease(t *testing.T) {
	h := newHarness(t)
	var between func()
	h.wrap = func(st store.Store) store.Store {
		return beforeComplete{Store: st, once: new(sync.Once), before: func() { between() }}
	}
	h.reopen()
	callum := h.createVol(matchVolunteer("Callum", "AB10 1AB"))
	isla := h.createVol(matchVolunteer("Isla", "AB10 1AF"))
	hr := h.createHR(shopping())
	h.invAssign(hr.Name, callum.Name)
	cMatch := pb.NewMatchingServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "c", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: callum.Name})))
	between = func() {
		if _, err := h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name}); err != nil {
			t.Errorf("release: %v", err)
		}
		h.invAssign(hr.Name, isla.Name)
	}
	_, err := cMatch.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: hr.Name})
	wantFailure(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_ASSIGNED || got.AssignedVolunteer != isla.Name {
		t.Errorf("after Callum's late done: %v assigned to %q, want it still Isla's to do", got.State, got.AssignedVolunteer)
	}
}
