package server_test

import (
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRelayUKPrefixSaysSo: a deaf caller on a textphone gives their
// number as they are rung through Relay UK, "18001 01224 123456". Staff
// were told it "is not a phone number", and typed it again without the
// prefix: stored so, the volunteer rang a textphone that they could not
// talk to, with nothing on the request to say why. The refusal names
// the prefix and says to put it in the details.
func TestRelayUKPrefixSaysSo(t *testing.T) {
	h := newHarness(t)
	for _, phone := range []string{"18001 01224 123456", "18002 07700 900123", "18001 0122 412 3456", "180020044 7700 900123", "18001 +44 1224 123456"} {
		hr := validHelpRequest()
		hr.Requester.Phone = phone
		_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if want := "details"; !violationSays(err, "help_request.requester.phone", "Relay UK", want) {
			t.Errorf("help request with phone %q: %v, want help_request.requester.phone saying it has the Relay UK prefix, and %q", phone, err, want)
		}
		v := validVolunteer()
		v.Contact.Phone = phone
		_, err = h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v})
		if want := "without it"; !violationSays(err, "volunteer.contact.phone", "Relay UK", want) {
			t.Errorf("volunteer with phone %q: %v, want volunteer.contact.phone saying it has the Relay UK prefix, and %q", phone, err, want)
		}
	}
	// Numbers that begin so but are not relayed are refused as before.
	hr := validHelpRequest()
	hr.Requester.Phone = "18001 1234"
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
	if violationSays(err, "help_request.requester.phone", "Relay UK", "") {
		t.Errorf("phone %q: %v, said to be relayed though what follows the prefix is no number", hr.Requester.Phone, err)
	}
}
