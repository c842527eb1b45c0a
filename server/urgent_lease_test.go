package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOfferLeaseEndsWithTheRequest: at 16:10 a man on his own, out of
// insulin, needs someone at his door by 17:30. An offer made to a
// volunteer at 17:15, with the default 30-minute lease, told them to
// answer by 17:45, though from 17:30 their accept is refused
// (REQUEST_ENDED): they answered in the time they were given and were
// turned away. The lease ends with the request's time; and an offer that
// runs out with it was not let lapse by the volunteer, so it is withdrawn
// (REQUEST_ENDED) and not counted against them as unanswered.
func TestOfferLeaseEndsWithTheRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timing func(start time.Time) func(*pb.HelpRequest)
	}{
		{"window", func(start time.Time) func(*pb.HelpRequest) {
			return func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(80 * time.Minute))}}
			}
		}},
		{"deadline", func(start time.Time) func(*pb.HelpRequest) {
			return func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(start.Add(80 * time.Minute))}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now().Truncate(time.Minute)}
			h := newHarnessWithClock(t, clock)
			start := clock.now() // 16:10
			end := start.Add(80 * time.Minute)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			hr := h.createHR(shopping(tc.timing(start), func(r *pb.HelpRequest) { r.Urgency = pb.Urgency_URGENCY_CRITICAL }))

			// Early on, the lease is the usual 30 minutes.
			first := h.offer(hr.Name, ann.Name)
			if got := first.ExpireTime.AsTime().Sub(start); got != 30*time.Minute {
				t.Errorf("an offer at 16:10 runs %v, want 30m", got)
			}
			if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: first.Name}); err != nil {
				t.Fatal(err)
			}
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AF"))
			clock.advance(65 * time.Minute) // 17:15
			o := h.offer(hr.Name, bob.Name)
			if got := o.ExpireTime.AsTime(); got.After(end) {
				t.Errorf("an offer at 17:15 of a request ending at 17:30 says answer within %v, %v after the request ends",
					got.Sub(clock.now()), got.Sub(end))
			}

			// 17:30 on the dot: a sweep then lapses nothing of Bob's.
			clock.advance(15 * time.Minute)
			h.srv.Sweep(h.ctx)
			if v := h.getVol(bob.Name); v.UnansweredOffers != 0 {
				t.Errorf("Bob at 17:30: unanswered %d, want 0", v.UnansweredOffers)
			}
			// Bob answers at 17:40, within the 30 minutes a lease runs: refused.
			clock.advance(10 * time.Minute)
			_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
			wantFailure(t, err, codes.FailedPrecondition, "REQUEST_ENDED")

			h.srv.Sweep(h.ctx)
			got := h.getOffer(o.Name)
			if got.State != pb.Offer_STATE_WITHDRAWN || got.WithdrawReason != "REQUEST_ENDED" {
				t.Errorf("offer %v, withdraw_reason %q; want WITHDRAWN, REQUEST_ENDED", got.State, got.WithdrawReason)
			}
			if v := h.getVol(bob.Name); v.UnansweredOffers != 0 || v.PendingOffers != 0 {
				t.Errorf("Bob: unanswered %d, pending %d; want 0, 0: the request's time ran out, not he", v.UnansweredOffers, v.PendingOffers)
			}
			if r := h.getHR(hr.Name); r.State != pb.HelpRequest_STATE_EXPIRED {
				t.Errorf("request %v, want EXPIRED", r.State)
			}
		})
	}
}

// TestOfferCutByRequestEndWithdrawnBeforeSweep: at the very minute the
// request's time ends, before the sweep, the volunteer pauses. Their
// offer, whose lease ran out with the request's time, is withdrawn
// (REQUEST_ENDED), not lapsed and counted against them as unanswered.
func TestOfferCutByRequestEndWithdrawnBeforeSweep(t *testing.T) {
	clock := &testClock{t: time.Now().Truncate(time.Minute)}
	h := newHarnessWithClock(t, clock)
	start := clock.now()
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(20 * time.Minute))}}
	}))
	o := h.offer(hr.Name, ann.Name)
	clock.advance(20 * time.Minute) // the end; the sweep not yet come
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: ann.Name, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := h.getOffer(o.Name); got.State != pb.Offer_STATE_WITHDRAWN || got.WithdrawReason != "REQUEST_ENDED" {
		t.Errorf("offer %v, withdraw_reason %q; want WITHDRAWN, REQUEST_ENDED", got.State, got.WithdrawReason)
	}
	if v := h.getVol(ann.Name); v.UnansweredOffers != 0 {
		t.Errorf("Ann: unanswered %d, want 0", v.UnansweredOffers)
	}
}
