package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPostcodeCopiedWithInvisibleFormatting: a postcode copied from an
// address book, a mail or a spreadsheet comes wrapped in formatting the
// person never saw: a left-to-right embedding around it, a zero-width space
// where the space was, a byte order mark at the start of a cell. The
// server drops such formatting from every other text field; a postcode
// holding it was refused as "not a UK postcode", which the person looking
// at "AB10 1AB" on their screen could not make sense of.
func TestPostcodeCopiedWithInvisibleFormatting(t *testing.T) {
	h := newHarness(t)
	for _, pc := range []string{"\u202aAB10 1AB\u202c", "AB10\u200b1AB", "\ufeffab10 1ab", "\u2066AB10 1AB\u2069", "AB10 1AB\u200e"} {
		hr := validHelpRequest()
		hr.Location.Postcode = pc
		got, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if err != nil {
			t.Errorf("help request at postcode %q: %v", pc, err)
		} else if got.HelpRequest.Location.Postcode != "AB10 1AB" {
			t.Errorf("help request at postcode %q stored at %q, want AB10 1AB", pc, got.HelpRequest.Location.Postcode)
		}
		v := validVolunteer()
		v.Home.Postcode = pc
		if _, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v}); err != nil {
			t.Errorf("volunteer at postcode %q: %v", pc, err)
		}
		if _, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: pc}); err != nil {
			t.Errorf("LookupPostcode(%q): %v", pc, err)
		}
	}
	for _, near := range []string{"\u200bAB10", "AB10\u200b 1", "\ufeffAB10 1AB"} {
		got, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{Postcode: near})
		if err != nil {
			t.Errorf("ListHelpRequests(postcode %q): %v", near, err)
		} else if len(got.HelpRequests) == 0 {
			t.Errorf("ListHelpRequests(postcode %q) found nothing", near)
		}
	}
}
