package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
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
