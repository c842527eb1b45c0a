package server_test

import (
	"context"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCriticalRequestDispatchedAtOnce: with automatic dispatch every hour
// (or every 5 minutes), a critical request taken at 16:10 for 17:30 would
// wait for the next tick, a good part of the time it has. It is
// dispatched at once; a declined offer of it is dispatched again, after
// the least gap between such runs; a normal request waits for the tick.
func TestCriticalRequestDispatchedAtOnce(t *testing.T) {
	h := newMetered(t, nil)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, time.Hour) }()
	defer func() { cancel(); <-done }()
	room := func(v *pb.Volunteer) { v.Capacity = 2 }
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB", room))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", room))

	normal := h.createHR(shopping(callerPhone("01224 100010")))
	crit := h.createHR(shopping(callerPhone("01224 100011"), func(r *pb.HelpRequest) { r.Urgency = pb.Urgency_URGENCY_CRITICAL }))
	offered := func(name string) *pb.HelpRequest {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			hr := h.getHR(name)
			if hr.State == pb.HelpRequest_STATE_OFFERED {
				return hr
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is still %v 20 s on: not dispatched", name, hr.State)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	first := offered(crit.Name)
	// The run dispatches every open request, the normal one too.
	if hr := h.getHR(normal.Name); hr.State != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("the normal request is %v after the urgent run, want OFFERED with it", hr.State)
	}
	o := h.getOffer(first.Offer)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	again := h.getOffer(offered(crit.Name).Offer)
	if again.Volunteer == o.Volunteer || (again.Volunteer != ann.Name && again.Volunteer != bob.Name) {
		t.Errorf("offered again to %s after %s declined", again.Volunteer, o.Volunteer)
	}
	h.want("urgent runs", map[string]float64{
		`doorstep_dispatch_runs_total{trigger="urgent"}`:   2,
		`doorstep_dispatch_runs_total{trigger="interval"}`: 0,
	})
}

// TestCriticalRequestNotDispatchedWithDispatchOff: without --dispatch-every
// nothing is offered by the server on its own, critical or not.
func TestCriticalRequestNotDispatchedWithDispatchOff(t *testing.T) {
	h := newMetered(t, nil)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, 0) }()
	h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	crit := h.createHR(shopping(func(r *pb.HelpRequest) { r.Urgency = pb.Urgency_URGENCY_CRITICAL }))
	h.createHR(shopping(callerPhone("01224 100012"), func(r *pb.HelpRequest) { r.Urgency = pb.Urgency_URGENCY_CRITICAL }))
	cancel()
	<-done
	if hr := h.getHR(crit.Name); hr.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("with dispatch off the critical request is %v", hr.State)
	}
	h.want("no runs", map[string]float64{`doorstep_dispatch_runs_total{trigger="urgent"}`: 0})
}
