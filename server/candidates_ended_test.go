package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCandidatesOfAnEndedRequest: between a request's window or deadline
// passing and the sweep marking it expired, it still reads OPEN, and
// FindCandidates said of it that the volunteers near were "not free
// then": staff looked for someone free, for a time gone, where an offer
// of it is refused as ended. It is refused for what it is, as that offer
// is (REQUEST_ENDED), open or offered.
func TestCandidatesOfAnEndedRequest(t *testing.T) {
	for _, c := range []struct {
		name   string
		timing func(r *pb.HelpRequest, now time.Time)
		offer  bool
	}{
		{"deadline", func(r *pb.HelpRequest, now time.Time) {
			r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(now.Add(time.Hour))}
		}, false},
		{"window", func(r *pb.HelpRequest, now time.Time) {
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(now.Add(10 * time.Minute)), EndTime: timestamppb.New(now.Add(time.Hour))}}
		}, false},
		{"offered", func(r *pb.HelpRequest, now time.Time) {
			r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(now.Add(time.Hour))}
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			h := newHarnessWithClock(t, clock)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			h.createVol(matchVolunteer("Bea", "AB10 1AF"))
			hr := h.createHR(shopping(func(r *pb.HelpRequest) { c.timing(r, clock.now()) }))
			if c.offer {
				h.offer(hr.Name, ann.Name)
			}
			if cands := h.candidates(hr.Name); len(cands) == 0 {
				t.Fatalf("before the end: no candidates")
			}
			clock.advance(time.Hour + time.Minute) // no sweep yet
			resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
			if err == nil {
				t.Fatalf("an ended request: %d candidates, %q", len(resp.Candidates), resp.Summary)
			}
			wantFailure(t, err, codes.FailedPrecondition, "REQUEST_ENDED")
		})
	}
}
