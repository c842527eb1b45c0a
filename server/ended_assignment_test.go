package server_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestEndedAssignmentClosedAfterGrace: a volunteer of capacity 1 who
// forgot to mark a visit done was never offered anything again, and the
// caller's data was never purged. Once the grace after the visit's time
// has passed, the sweep marks it FULFILLED, and the volunteer is free.
// The marking is on the request's trail, action complete by the system
// (as the purge's is): a caller who says the shopping never came is
// asked about weeks on, after the event log has let it go, and a trail
// ending at the accept would say someone marked it done unrecorded.
func TestEndedAssignmentClosedAfterGrace(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithAssignmentGrace(48*time.Hour))
	vol := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	done := h.createHR(shopping())
	off := h.offer(done.Name, vol.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	end := done.GetWindow().GetEndTime().AsTime()

	// Within the grace, it stays as people left it.
	clock.advance(end.Sub(clock.now()) + 47*time.Hour)
	h.srv.Sweep(h.ctx)
	if got := h.getHR(done.Name); got.State != pb.HelpRequest_STATE_ASSIGNED {
		t.Fatalf("within the grace: %v", got.State)
	}
	next := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: ts2(clock, 48*time.Hour), EndTime: ts2(clock, 50*time.Hour)}}
	}))
	if cands := h.candidates(next.Name); len(cands) != 0 {
		t.Fatalf("a volunteer of capacity 1 with an assignment is a candidate: %v", cands)
	}

	clock.advance(2 * time.Hour) // an hour past the grace, and past the sweep's hour
	h.srv.Sweep(h.ctx)
	got := h.getHR(done.Name)
	if got.State != pb.HelpRequest_STATE_FULFILLED || got.CloseTime == nil || got.AssignedVolunteer != vol.Name {
		t.Fatalf("after the grace: %v, close_time %v, volunteer %q", got.State, got.CloseTime, got.AssignedVolunteer)
	}
	if cands := h.candidates(next.Name); len(cands) != 1 || cands[0] != vol.Name {
		t.Errorf("the freed volunteer is not a candidate: %v", cands)
	}
	resp, err := pb.NewAdminServiceClient(h.conn).ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: done.Name, Action: "complete"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.AuditRecords; len(got) != 1 || got[0].Actor != "system" {
		t.Errorf("marked fulfilled by the sweep: %d complete records on the request's trail, want 1 by system: %v", len(got), got)
	}
}

// ts2 is a time d after the test clock's now.
func ts2(c *testClock, d time.Duration) *timestamppb.Timestamp {
	return timestamppb.New(c.now().Add(d))
}

// candidates names the volunteers FindCandidates offers for request.
func (h *harness) candidates(request string) []string {
	h.t.Helper()
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: request})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, c := range resp.Candidates {
		out = append(out, c.Volunteer)
	}
	return out
}
