package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPhoneCorrectionCannotPutTwoVolunteersAtOneDoor: a caller rang twice
// and the second call was taken down with a digit wrong in their number,
// so the two requests, at one door at one time, read as two callers': Ann
// holds the first, Bob the second. Correcting the number makes them one
// caller's. As for a corrected street, an offer waiting for Bob is
// withdrawn, and an assignment of his refuses the correction (SAME_DOOR,
// naming Ann) and is left as it was, so that the coordinator learns of the
// duplicate rather than two volunteers knocking at one door.
func TestPhoneCorrectionCannotPutTwoVolunteersAtOneDoor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accepted bool
	}{
		{"offered", false},
		{"assigned", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
			bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
			first := h.createHR(shopping())
			again := h.createHR(shopping(callerPhone("01224 123465"))) // 56 heard as 65
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
				t.Fatal(err)
			}
			bobOffer := h.offer(again.Name, bob.Name) // another caller, as far as anyone knows: allowed
			if tc.accepted {
				if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: bobOffer.Name}); err != nil {
					t.Fatal(err)
				}
			}
			before := h.getHR(again.Name)

			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: again.Name, Requester: &pb.Contact{Phone: "01224 123456"}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.phone"}},
			})
			if tc.accepted {
				wantFailure(t, err, codes.FailedPrecondition, "SAME_DOOR")
				if got := errorMetadata(err)["volunteer_coming"]; got != ann.Name {
					t.Errorf("the refusal names %q as going there, want Ann (%s)", got, ann.Name)
				}
				if got := h.getHR(again.Name); got.Etag != before.Etag || got.GetRequester().GetPhone() != before.GetRequester().GetPhone() {
					t.Errorf("the refused correction changed the request: phone %q etag %s, was %q %s",
						got.GetRequester().GetPhone(), got.Etag, before.GetRequester().GetPhone(), before.Etag)
				}
			} else if err != nil {
				t.Fatalf("correct the number of a request only offered: %v", err)
			}
			if !tc.accepted {
				// Bob rings back to say yes, to an offer now withdrawn.
				_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: bobOffer.Name})
				wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
			}
			a, b := h.getHR(first.Name), h.getHR(again.Name)
			if a.State == pb.HelpRequest_STATE_ASSIGNED && b.State == pb.HelpRequest_STATE_ASSIGNED &&
				a.AssignedVolunteer != b.AssignedVolunteer && a.GetRequester().GetPhone() == b.GetRequester().GetPhone() {
				t.Errorf("Ann (%s) and Bob (%s) are both assigned to one caller's door at meeting times", a.AssignedVolunteer, b.AssignedVolunteer)
			}
		})
	}
}
