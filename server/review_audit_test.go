package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestEditThatWithdrawsAnOfferIsAuditedOnce: an edit of personal fields
// that also makes a pending offer impossible (the volunteer pauses, the
// request now needs a driver) is one change, and its audit trail says so
// once: the withdrawal that follows is the server's review, not a second
// change of the contact details.
func TestEditThatWithdrawsAnOfferIsAuditedOnce(t *testing.T) {
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Callum", "AB10 1AB"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, vol.Name)
	_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: vol.Name, Contact: &pb.Contact{DisplayName: "Callum R", Phone: "07700 900222"}, Paused: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact", "paused"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	vol2 := h.createVol(matchVolunteer("Aileen", "AB10 1AB", phoned("07700 900333")))
	hr2 := h.createHR(shopping(callerPhone("01224 000020")))
	o2 := h.offer(hr2.Name, vol2.Name)
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr2.Name, Details: "needs a lift", RequiredSkills: []string{"driver"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details", "required_skills"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ offer, record string }{{o.Name, vol.Name}, {o2.Name, hr2.Name}} {
		got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: c.offer})
		if err != nil {
			t.Fatal(err)
		}
		if got.Offer.State != pb.Offer_STATE_WITHDRAWN {
			t.Fatalf("%s is %v: the edit was meant to withdraw it", c.offer, got.Offer.State)
		}
		recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: c.record, Action: "update"}, store.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Errorf("%s: %d audit records of its one update, want 1: %v", c.record, len(recs), recs)
		}
	}
}
