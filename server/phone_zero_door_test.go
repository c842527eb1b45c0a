package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestTrunkZeroStoredEarlierDetailsEditAtOccupiedDoor: an Irish daughter's
// two requests for her mother, one morning at one door, were stored
// before the trunk zero was dropped however typed: the first from "+353
// 087 ..." (+3530871234567), the second from "+353 (0)87 ..."
// (+353871234567), as two callers', and Ann and Bob were assigned one
// each. Staff adding the door code to the first request's details were
// refused SAME_DOOR, "with this edit the request's volunteer and Bob
// would both be at the caller's door", for a number nobody changed. An
// edit of the details is never refused for a door, even one two
// volunteers were already going to.
func TestTrunkZeroStoredEarlierDetailsEditAtOccupiedDoor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		update *pb.UpdateHelpRequestRequest
	}{
		{"details", &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Details: "Door code 1234"},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
		}},
		{"name", &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Requester: &pb.Contact{DisplayName: "Máire Kelly"}},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.display_name"}},
		}},
		{"phone as read", &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Requester: &pb.Contact{Phone: "+353 087 123 4567"}},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.phone"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
			first := h.createHR(shopping(callerPhone("01224 999999")))
			second := h.createHR(shopping(callerPhone("+353 (0)87 123 4567")))
			for hr, vol := range map[string]string{first.Name: ann.Name, second.Name: bob.Name} {
				if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(hr, vol).Name}); err != nil {
					t.Fatal(err)
				}
			}
			// As an older version left them: the first under the form
			// with the zero, as two callers'.
			legacyRequest(t, h, first.Name, func(r *pb.HelpRequest) { r.Requester.Phone = "+3530871234567" })
			tc.update.HelpRequest.Name = first.Name
			if _, err := h.hr.UpdateHelpRequest(h.ctx, tc.update); err != nil {
				t.Errorf("an edit of the %s only: %v", tc.name, err)
			}
		})
	}
}
