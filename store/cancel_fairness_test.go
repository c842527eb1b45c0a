package store

import (
	"testing"
)

// TestCancelledAssignmentIsNoJobDone: a caller cancels the shopping the
// volunteer had taken (his daughter did it, or he rang twice and one
// goes). The helpline tells the volunteer not to come, and the job was
// never done, as a job handed back was not: yet the volunteer's record
// kept its accept among their recent jobs, so for a week they ranked
// lower (the fairness term) and the helpline read "1 job in the last 7
// days" of them. A job marked done stays counted.
func TestCancelledAssignmentIsNoJobDone(t *testing.T) {
	for _, tc := range []struct {
		end  string
		want int // recent assignment times left
	}{
		{"complete", 1},
		{"release", 0},
		{"cancel", 0},
	} {
		t.Run(tc.end, func(t *testing.T) {
			s, _ := newStore(t, WithClock(newFakeClock().now))
			hr, v := lcRequest(t, s), lcVolunteer(t, s, 1)
			off := lcOffer(t, s, hr, v).Offer
			lcMust(t, "accept")(s.AcceptOffer(bg, idOf(off.Name)))
			var err error
			switch tc.end {
			case "complete":
				_, err = s.CompleteHelpRequest(bg, idOf(hr.Name))
			case "release":
				_, err = s.ReleaseHelpRequest(bg, idOf(hr.Name))
			case "cancel":
				_, err = s.CancelHelpRequest(bg, idOf(hr.Name))
			}
			mustOK(t, err, tc.end)
			got, err := s.GetVolunteer(bg, idOf(v.Name))
			mustOK(t, err, "get volunteer")
			if n := len(got.RecentAssignmentTimes); n != tc.want {
				t.Errorf("after %s of the assigned request the volunteer has %d recent assignment times, want %d", tc.end, n, tc.want)
			}
			verifyAll(t, s)
		})
	}
}
