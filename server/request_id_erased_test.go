package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestRequestIDAfterErasure holds client.CreateHelpRequest's doc to what a
// partner meets: their own request_id sent again after the person's data
// was erased is not refused (REQUEST_ID_TARGET_DELETED is for a request
// deleted): the record is still there, so it answers with what is left of
// it (cancelled, as erasure cancels an open request, without the person's
// details) and stores nothing again.
func TestRequestIDAfterErasure(t *testing.T) {
	h := newHarness(t)
	req := &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest(), RequestId: "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"}
	first, err := h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewAdminServiceClient(h.conn).ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: "01224 123456"}); err != nil {
		t.Fatal(err)
	}
	again, err := h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatalf("the same request_id after erasure: %v", err)
	}
	got := again.GetHelpRequest()
	if got.GetName() != first.GetHelpRequest().GetName() || got.GetState() != pb.HelpRequest_STATE_CANCELLED || got.GetRequester().GetDisplayName() != "" || got.GetRequester().GetPhone() != "" {
		t.Errorf("the same request_id after erasure answered %s, %v, requester %q %q; want %s, cancelled, no requester",
			got.GetName(), got.GetState(), got.GetRequester().GetDisplayName(), got.GetRequester().GetPhone(), first.GetHelpRequest().GetName())
	}
	if n, _ := h.countStored(); n != 1 {
		t.Errorf("stored %d requests, want 1", n)
	}
}

// TestRequestIDAfterRetention: a request whose personal data retention
// removed stays, as an erased one does: its request_id sent again answers
// with what is left of it (closed as it was, without the person's
// details), as client.CreateHelpRequest's doc says.
func TestRequestIDAfterRetention(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithPersonalDataRetention(48*time.Hour))
	req := &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest(), RequestId: "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"}
	first, err := h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: first.GetHelpRequest().GetName()}); err != nil {
		t.Fatal(err)
	}
	clock.advance(50 * time.Hour)
	h.srv.Sweep(h.ctx)
	again, err := h.hr.CreateHelpRequest(h.ctx, req)
	if err != nil {
		t.Fatalf("the same request_id after retention: %v", err)
	}
	got := again.GetHelpRequest()
	if got.GetName() != first.GetHelpRequest().GetName() || got.GetPersonalDataRemovedTime() == nil || got.GetRequester().GetPhone() != "" {
		t.Errorf("the same request_id after retention answered %s, removed %v, phone %q; want %s without the person's details",
			got.GetName(), got.GetPersonalDataRemovedTime(), got.GetRequester().GetPhone(), first.GetHelpRequest().GetName())
	}
}

// TestVolunteerRequestIDAfterErasure: unlike a request, an erased
// volunteer is deleted whole, so CreateVolunteer's request_id sent again
// is refused as after a deletion (REQUEST_ID_TARGET_DELETED), not
// answered, and registers nobody again: client.CreateVolunteer's doc,
// "as CreateHelpRequest does", said otherwise.
func TestVolunteerRequestIDAfterErasure(t *testing.T) {
	h := newHarness(t)
	req := &pb.CreateVolunteerRequest{Volunteer: validVolunteer(), RequestId: "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"}
	if _, err := h.vol.CreateVolunteer(h.ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewAdminServiceClient(h.conn).ErasePersonalData(h.ctx, &pb.ErasePersonalDataRequest{Phone: validVolunteer().GetContact().GetPhone()}); err != nil {
		t.Fatal(err)
	}
	_, err := h.vol.CreateVolunteer(h.ctx, req)
	if code, reason, _ := errorOf(t, err); code != codes.FailedPrecondition || reason != server.ReasonRequestIDGone {
		t.Errorf("the same request_id after the volunteer's erasure: %v, want FAILED_PRECONDITION %s", err, server.ReasonRequestIDGone)
	}
	if _, n := h.countStored(); n != 0 {
		t.Errorf("stored %d volunteers after the erasure and the retry, want 0", n)
	}
}
