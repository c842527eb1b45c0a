package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTrunkZeroStoredEarlierKeptFormNoSecondVolunteer: both the caller's
// errands in hand were stored by an older version as +3530871234567, Ann
// going at 10:00, Bob at 14:00. The lazy rewrite of the number's form
// before an edit once left the edited errand in the older form, and the
// store no longer saw the first: the edit put two volunteers at one door
// at one time. After the upgrade, moving Bob's to 10:00 is refused
// SAME_DOOR, as for a number stored in one form.
func TestTrunkZeroStoredEarlierKeptFormNoSecondVolunteer(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	at := func(from time.Duration) *pb.HelpRequest_Window {
		return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(from + time.Hour))}}
	}
	errand := func(from time.Duration) *pb.HelpRequest {
		r := h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS}
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: "Union Street"}
			r.Requester.Phone = "+353 87 123 4567"
			r.Timing = at(from)
		}))
		legacyRequest(t, h, r.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
		return r
	}
	first := errand(10 * time.Hour)
	second := errand(14 * time.Hour)
	upgradeFrom13(t, h)
	h.invAssign(first.Name, ann.Name)
	h.invAssign(second.Name, bob.Name)
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: second.Name, Timing: at(10 * time.Hour)},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"window"}},
	})
	wantFailure(t, err, codes.FailedPrecondition, "SAME_DOOR")
}
