package server_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestPhoneWithExtensionSaysSo: a caller in sheltered housing or a care
// home is reached through a switchboard, "01224 123456 ext 12". A number
// with an extension cannot be stored, but staff were told it "is not a
// phone number", which it plainly is: the refusal names the field and
// says it is the extension, and what to do with it.
func TestPhoneWithExtensionSaysSo(t *testing.T) {
	h := newHarness(t)
	for _, phone := range []string{"01224 123456 ext 12", "01224 123456 ext. 12", "01224 123456 x12", "+44 1224 123456 extension 12", "01224 123456, ext 12", "01224 123456 #12"} {
		hr := validHelpRequest()
		hr.Requester.Phone = phone
		_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if want := "in the details"; !violationSays(err, "help_request.requester.phone", "extension", want) {
			t.Errorf("help request with phone %q: %v, want help_request.requester.phone saying it is an extension, and %q", phone, err, want)
		}
		v := validVolunteer()
		v.Contact.Phone = phone
		_, err = h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v})
		if want := "reaches them"; !violationSays(err, "volunteer.contact.phone", "extension", want) {
			t.Errorf("volunteer with phone %q: %v, want volunteer.contact.phone saying it is an extension, and %q", phone, err, want)
		}
	}
}

// violationSays reports whether err is INVALID_ARGUMENT with a violation
// of field whose description holds each of words.
func violationSays(err error, field string, words ...string) bool {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			if i := slices.IndexFunc(br.FieldViolations, func(fv *errdetails.BadRequest_FieldViolation) bool { return fv.Field == field }); i >= 0 {
				d := br.FieldViolations[i].Description
				return !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(d, w) })
			}
		}
	}
	return false
}
