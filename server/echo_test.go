package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestErrorsQuoteLittleOfWhatWasSent: a value of any length sent where a
// postcode, a time zone or a field path belongs is refused with enough of
// it to recognise, never the whole: a 100 KB postcode gave a 100 KB error.
func TestErrorsQuoteLittleOfWhatWasSent(t *testing.T) {
	h := newHarness(t)
	long := "AB10 " + strings.Repeat("X", 100_000)
	_, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: long})
	if status.Code(err) != codes.InvalidArgument || len(err.Error()) > 1000 || !strings.Contains(err.Error(), `"AB10 XXX`) {
		t.Errorf("LookupPostcode of 100 KB: %d bytes of error (%.200s)", len(err.Error()), err)
	}
	hr := validHelpRequest()
	hr.Location.Postcode = long
	_, err = h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
	if status.Code(err) != codes.InvalidArgument || len(err.Error()) > 1000 {
		t.Errorf("CreateHelpRequest with a 100 KB postcode: %d bytes of error", len(err.Error()))
	}
	// A short one is quoted whole, as before.
	_, err = h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "nonsense"})
	if !strings.Contains(err.Error(), `"nonsense" is not a UK postcode`) {
		t.Errorf("a short value: %v", err)
	}
}
