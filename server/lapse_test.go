package server_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestLapsedOfferIsNeverOfferedAgain: an offer whose lease has passed has
// lapsed, and its volunteer is never offered the request again, even when
// an edit (here, a pause) reaches the offer before the sweep does.
func TestLapsedOfferIsNeverOfferedAgain(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, ann.Name)
	clock.advance(31 * time.Minute) // the lease has passed; no sweep yet
	pause := func(p bool) {
		t.Helper()
		if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: ann.Name, Paused: p},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	pause(true)
	h.srv.Sweep(h.ctx)
	got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got.Offer.State != pb.Offer_STATE_EXPIRED {
		t.Errorf("offer whose lease passed before the edit is %v, want EXPIRED", got.Offer.State)
	}
	if r := h.getHR(hr.Name); !slices.Contains(r.DeclinedVolunteers, ann.Name) {
		t.Errorf("Ann let the lease lapse but is not among the declined: %v", r.DeclinedVolunteers)
	}
	pause(false)
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.getHR(hr.Name); r.State == pb.HelpRequest_STATE_OFFERED {
		t.Errorf("Ann, who let the offer lapse, is offered the request again (%d offers made)", resp.OffersMade)
	}
}
