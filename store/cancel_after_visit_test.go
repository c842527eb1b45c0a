package store

import (
	"testing"
	"time"
)

// TestCancelAfterItsTimeKeepsTheJob: the volunteer went on Monday, as
// assigned, and nobody marked it done; on Wednesday the caller rang to
// say they need nobody now, and the helpline cancelled what was still in
// hand. The visit happened (an assignment whose time is over counts as
// help given, as continuity reads it), yet the cancel took the accept out
// of the volunteer's recent jobs as if they had never gone: they ranked
// above volunteers who had done less, and staff read one job fewer.
func TestCancelAfterItsTimeKeepsTheJob(t *testing.T) {
	clock := newFakeClock()
	s, _ := newStore(t, WithClock(clock.now))
	hr, v := lcRequest(t, s), lcVolunteer(t, s, 1)
	off := lcOffer(t, s, hr, v).Offer
	lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off.Name)))
	clock.advance(2 * 24 * time.Hour) // the window (2 March, 9:00 to 17:00) is over
	lcMust(t, "cancel")(s.CancelHelpRequest(bg, idOf(hr.Name)))
	got, err := s.GetVolunteer(bg, idOf(v.Name))
	mustOK(t, err, "get volunteer")
	if n := len(got.RecentAssignmentTimes); n != 1 {
		t.Errorf("after a cancel of an assignment whose time was over the volunteer has %d recent assignment times, want 1", n)
	}
	verifyAll(t, s)
}
