package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestExportTellsWhoReadAndTheTokens: a subject access request is owed
// who read or changed the person's records, and the tokens that bear
// their name; nothing of anyone else's, and not the export's own trail.
func TestExportTellsWhoReadAndTheTokens(t *testing.T) {
	h := newHarness(t)
	hr := validHelpRequest()
	hr.Requester.Phone = "07700 900777"
	mine := h.createHR(hr)
	v := validVolunteer()
	v.Contact = &pb.Contact{DisplayName: "Ann Volunteer", Phone: "07700 900777"}
	vol := h.createVol(v)
	other := h.createHR(validHelpRequest())
	h.newToken(h.st, &pb.Token{DisplayName: "Ann's phone", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol.Name})
	h.newToken(h.st, &pb.Token{DisplayName: "desk 3", Role: pb.Role_ROLE_HELPLINE})

	desk := h.newToken(h.st, &pb.Token{DisplayName: "desk 4", Role: pb.Role_ROLE_HELPLINE})
	hc := pb.NewHelpRequestServiceClient(h.as(desk))
	for _, name := range []string{mine.Name, other.Name} {
		if _, err := hc.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}

	admin := pb.NewAdminServiceClient(h.conn)
	exp, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "+447700900777"})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Tokens) != 1 || exp.Tokens[0].DisplayName != "Ann's phone" || exp.Tokens[0].Volunteer != vol.Name {
		t.Errorf("tokens %v, want Ann's phone only", exp.Tokens)
	}
	readByDesk := false
	for _, r := range exp.AuditRecords {
		switch {
		case r.Resource != mine.Name && r.Resource != vol.Name:
			t.Errorf("the export tells of %s, not this person's", r.Resource)
		case r.Action == "export":
			t.Errorf("the export lists its own record %v", r)
		case r.Resource == mine.Name && r.Action == "read_contact" && r.Actor == h.tokenName("desk 4"):
			readByDesk = true
		}
	}
	if !readByDesk {
		t.Errorf("audit records %v: want desk 4's read of %s", exp.AuditRecords, mine.Name)
	}
	// A second export tells of the first's reads too: they are reads.
	again, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "+447700900777"})
	if err != nil || len(again.AuditRecords) <= len(exp.AuditRecords) {
		t.Errorf("second export: %d audit records (%v), want more than the first's %d", len(again.GetAuditRecords()), err, len(exp.AuditRecords))
	}
}
