package server_test

import (
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestClockAheadJobLeavesFairnessWindow: a job taken while the server's
// clock ran ahead is stamped that far on. Once the clock is put right and
// the fairness window has passed, it must no longer count against the
// volunteer: they are not ranked lower, nor the helpline told "1 job in
// the last 7 days", for a year.
func TestClockAheadJobLeavesFairnessWindow(t *testing.T) {
	for _, tc := range clockSteps {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			tc.move(h, clock, tc.step)
			deadline := inTwoDays(clock)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			first := h.createHR(shopping(deadline))
			o := h.offer(first.Name, ann.Name)
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: first.Name}); err != nil {
				t.Fatal(err)
			}
			tc.move(h, clock, -tc.step)       // NTP puts it right
			clock.advance(8 * 24 * time.Hour) // past the 7-day window
			next := h.createHR(shopping(deadline, callerPhone("01224 654321")))
			resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: next.Name})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Candidates) != 1 {
				t.Fatalf("%d candidates, want Ann", len(resp.Candidates))
			}
			if c := resp.Candidates[0]; c.ScoreParts.GetFairness() != 0 || strings.Contains(c.Explanation, "job") {
				t.Errorf("a job taken 8 days ago, the clock running ahead %s, still counts: fairness %v, %q",
					tc.name, c.ScoreParts.GetFairness(), c.Explanation)
			}
		})
	}
}
