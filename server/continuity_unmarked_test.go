package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestContinuityBeforeJobMarkedDone: a caller's weekly shopping. Bob did
// last Tuesday's but, as volunteers often do, has not marked it done; the
// sweep would only after the assignment grace, a week on. When the
// coordinator takes next Tuesday's request on the Monday, Bob has helped
// this person before all the same, and the helpline must be told so and
// see him ranked for it, as it would had he pressed "done".
func TestContinuityBeforeJobMarkedDone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timing func(start time.Time) func(*pb.HelpRequest)
	}{
		{"window", func(start time.Time) func(*pb.HelpRequest) {
			return func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(2 * time.Hour))}}
			}
		}},
		{"deadline", func(start time.Time) func(*pb.HelpRequest) {
			return func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(start.Add(2 * time.Hour))}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			// Ann is nearer; Bob, 300 m away, is the one who went last week.
			ann := h.createVol(matchVolunteer("Ann", "AB12 9SD", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900001" }))
			bob := h.createVol(matchVolunteer("Bob", "AB11 5BW", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900002"; v.Capacity = 2 }))
			first := h.createHR(shopping(tc.timing(clock.now().Add(24 * time.Hour))))
			o := h.offer(first.Name, bob.Name)
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
				t.Fatal(err)
			}
			clock.advance(6 * 24 * time.Hour) // the Monday after: last week's job is over, unmarked
			h.srv.Sweep(h.ctx)
			if st := h.getHR(first.Name).State; st != pb.HelpRequest_STATE_ASSIGNED {
				t.Fatalf("last week's job is %v, want it still assigned (within the grace)", st)
			}
			next := h.createHR(shopping(tc.timing(clock.now().Add(24 * time.Hour))))
			cands := h.cands(next.Name)
			if len(cands) != 2 {
				t.Fatalf("%d candidates, want Ann and Bob", len(cands))
			}
			if c := cands[0]; c.Volunteer != bob.Name || c.ScoreParts.GetContinuity() >= 0 || !strings.Contains(c.Explanation, "helped this person before") {
				t.Errorf("first candidate %s (%s), continuity %v, %q; want Bob, who went last week, told as having helped before (Ann is %s)",
					c.DisplayName, c.Volunteer, c.ScoreParts.GetContinuity(), c.Explanation, ann.Name)
			}
		})
	}
}

func (h *harness) cands(hr string) []*pb.Candidate {
	h.t.Helper()
	r, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Candidates
}
