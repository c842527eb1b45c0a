package server_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// clockSteps are the steps of a wall clock these tests act out: NTP
// correcting a drift, a VM restored from a snapshot, a box with a flat
// CMOS battery.
var clockSteps = []clockStep{
	{"an hour", time.Hour, false},
	{"a day", 24 * time.Hour, false},
	{"a year", 365 * 24 * time.Hour, false},
	{"a year with a restart", 365 * 24 * time.Hour, true},
}

type clockStep struct {
	name    string
	step    time.Duration
	restart bool // the step comes with a restart on the file
}

// move moves the clock by d, and restarts the server on its file if the
// step comes with a restart.
func (tc clockStep) move(h *harness, clock *testClock, d time.Duration) {
	clock.advance(d)
	if tc.restart {
		h.reopen()
	}
}

// inTwoDays gives a request a deadline two days on by clock.
func inTwoDays(clock *testClock) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(48 * time.Hour))}
	}
}

// TestClockSetBackDoesNotPurgeEarly: a request closed while the server's
// clock ran behind (here, cancelled) gets a close time from before it was
// even made. Once the clock is put right, its requester's personal data
// must still be kept for the retention from when it closed, not purged
// at the next sweep as if it had closed long ago.
func TestClockSetBackDoesNotPurgeEarly(t *testing.T) {
	const retention = time.Hour
	for _, tc := range clockSteps {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(retention))
			hr := h.createHR(shopping(inTwoDays(clock)))
			tc.move(h, clock, -tc.step)
			if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hr.Name}); err != nil {
				t.Fatal(err)
			}
			clock.advance(tc.step + time.Minute) // NTP puts it right
			h.srv.Sweep(h.ctx)
			if got := h.getHR(hr.Name); got.PersonalDataRemovedTime != nil {
				t.Errorf("a request cancelled a minute ago, the clock set back %s, had its personal data purged (close time %s); the retention is %v",
					tc.name, got.CloseTime.AsTime().Format(time.RFC3339), retention)
			}
		})
	}
}

// TestClockAheadRequestPurgedOnTime: a request made while the server's
// clock ran ahead has a create time that far in the future. Closed once
// the clock is put right, its close time is right: its requester's
// personal data must go when the retention from then has run, not be
// kept for the step as well (a year perhaps) as if it had closed only
// when it was stamped made. (A step shorter than the retention cannot be
// told from a close by a clock running behind once the clock has passed
// the create time: that data is kept for the step as well, at most
// twice the retention.)
func TestClockAheadRequestPurgedOnTime(t *testing.T) {
	const retention = 30 * time.Minute // shorter than every step
	for _, tc := range clockSteps {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(retention))
			clock.advance(tc.step)
			hr := h.createHR(shopping(func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(48 * time.Hour))}
			}))
			clock.advance(-tc.step) // NTP puts it right
			if tc.restart {
				h.reopen()
			}
			if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hr.Name}); err != nil {
				t.Fatal(err)
			}
			clock.advance(retention + time.Minute)
			h.srv.Sweep(h.ctx)
			if got := h.getHR(hr.Name); got.PersonalDataRemovedTime == nil {
				t.Errorf("a request cancelled %v ago, made while the clock ran %s ahead, still holds its personal data (made %s); the retention is %v",
					retention+time.Minute, tc.name, got.CreateTime.AsTime().Format(time.RFC3339), retention)
			}
		})
	}
}
