package server_test

import (
	"math/rand"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestPlainVisitBesideALeaveStillCounts, through the API: Bob comes to
// the caller's Union Street door by their leave (errand B); being there
// anyway, he is offered and accepts their shopping C at the same time
// without leave. Ann, offered the caller's third request A, same door and
// time, without leave, is refused: Bob comes for C without leave. A
// coordinator can still change C's urgency.
func TestPlainVisitBesideALeaveStillCounts(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222"), func(v *pb.Volunteer) { v.Capacity = 3 }))
	c := invDoor(h, "Union Street", 2, 4)
	b := invDoor(h, "Union Street", 2, 4)
	a := invDoor(h, "Union Street", 2, 4)
	byLeave, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: b.Name, Volunteer: bob.Name, AllowSecondVolunteer: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: byLeave.Offer.Name}); err != nil {
		t.Fatal(err)
	}
	h.invAssign(c.Name, bob.Name) // Bob, no leave: he is the one coming
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: a.Name, Volunteer: ann.Name})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
	// An edit of C not touching place or time goes through.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: c.Name, Urgency: pb.Urgency_URGENCY_LOW},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"urgency"}},
	}); err != nil {
		t.Errorf("changing only C's urgency: %v", err)
	}
}

// TestDoorInvariantSeed511: the random door test's seed 511, beyond the
// seeds its time budget reaches on two cores, once found a by-leave visit
// hiding the same volunteer's plain one (TestPlainVisitBesideALeaveStillCounts):
// it runs every time.
func TestDoorInvariantSeed511(t *testing.T) {
	rng := rand.New(rand.NewSource(511))
	ops := invGen(rng, 30, 2+rng.Intn(2), 1+rng.Intn(2))
	if v, step := invRun(t, ops, map[string]bool{}); v != "" {
		t.Errorf("seed 511 step %d: %s", step, v)
	}
}
