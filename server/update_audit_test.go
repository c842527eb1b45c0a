package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestUpdateResponseReadIsAudited: an update answers with the whole
// record, the requester's or volunteer's name, phone and address
// included, whatever it changed. An edit of the urgency or the skills
// alone changes nothing personal, so its answer must be on record as a
// read of them, as a Get of the same record is.
func TestUpdateResponseReadIsAudited(t *testing.T) {
	h := newHarness(t)
	conn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "desk", Role: pb.Role_ROLE_HELPLINE}))
	hrs, vols := pb.NewHelpRequestServiceClient(conn), pb.NewVolunteerServiceClient(conn)
	hr := h.createHR(validHelpRequest())
	vol := h.createVol(validVolunteer())
	desk := h.tokenName("desk")

	up, err := hrs.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Urgency: pb.Urgency_URGENCY_HIGH}})
	if err != nil {
		t.Fatal(err)
	}
	if up.HelpRequest.GetRequester().GetPhone() == "" {
		t.Fatal("the update's answer carries no phone: nothing to audit")
	}
	uv, err := vols.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: vol.Name, Skills: []string{"driver"}}})
	if err != nil {
		t.Fatal(err)
	}
	if uv.Volunteer.GetContact().GetPhone() == "" {
		t.Fatal("the update's answer carries no phone: nothing to audit")
	}

	for _, name := range []string{hr.Name, vol.Name} {
		recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Actor: desk, Resource: name, Action: "read_contact"}, store.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Errorf("%s: %d audited reads by the desk whose update was answered with its contact details, want 1", name, len(recs))
		}
	}
}
