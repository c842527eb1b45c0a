package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestRemoteOkOnlyForHelpFromAfar: remote_ok lifts the distance rule, so
// remote_ok on a request that also needs shopping, or someone inside the
// home, had a volunteer from anywhere sent to the door. It is refused,
// naming remote_ok, and nothing is stored.
func TestRemoteOkOnlyForHelpFromAfar(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name string
		edit func(*pb.HelpRequest)
		ok   bool
	}{
		{"call", func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL} }, true},
		{"other", func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_OTHER}; r.Details = "help with a form" }, true},
		{"call and shopping", func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_GROCERY_SHOPPING}
		}, false},
		{"transport", func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_TRANSPORT} }, false},
		{"call inside", func(r *pb.HelpRequest) {
			r.Needs, r.EntersHome = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := h.countStored()
			_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
				r.RemoteOk = true
				tt.edit(r)
			})})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.remote_ok" {
				t.Errorf("create: %v", err)
			}
			if after, _ := h.countStored(); after != before {
				t.Errorf("%d requests stored, want %d", after, before)
			}
		})
	}

	// An edit that adds shopping to a remote call is refused; one that
	// adds it and clears remote_ok is taken.
	call := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Needs, r.RemoteOk = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}, true
	}))
	both := []pb.Need{pb.Need_NEED_BEFRIENDING_CALL, pb.Need_NEED_GROCERY_SHOPPING}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: call.Name, Needs: both},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"needs"}},
	})
	if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || len(fields) != 1 || fields[0] != "help_request.remote_ok" {
		t.Errorf("adding shopping to a remote call: %v", err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: call.Name, Needs: both},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"needs", "remote_ok"}},
	}); err != nil {
		t.Errorf("adding shopping and clearing remote_ok: %v", err)
	}

	// A request stored before the refusal (straight into the store) can
	// still have its details corrected.
	old := shopping(func(r *pb.HelpRequest) { r.RemoteOk = true })
	old.Location = proto.Clone(call.Location).(*pb.Location)
	old.Requester.Phone = "01224 654321"
	stored, err := h.st.CreateHelpRequest(h.ctx, old, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: stored.Name, Details: "Milk only"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	}); err != nil {
		t.Errorf("correcting an old request's details: %v", err)
	}
	// Nor when an app sends its needs back in its own order.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: stored.Name, Needs: []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION, pb.Need_NEED_GROCERY_SHOPPING}, Details: "Milk and bread"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"needs", "details"}},
	}); err != nil {
		t.Errorf("an old request's needs in another order: %v", err)
	}
}
