package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestMalformedTimestampSaysWhatIsWrong: a client in another language
// builds google.protobuf.Timestamp by hand, and JavaScript's clock counts
// milliseconds: {seconds: Date.now()} is a time 50,000 years away. The
// server named the field but said only "is not a valid timestamp", which
// sends the partner to read the well-known type's definition. It now says
// which part is out of range, and that seconds are not milliseconds.
func TestMalformedTimestampSaysWhatIsWrong(t *testing.T) {
	h := newHarness(t)
	future := time.Now().Add(24 * time.Hour)
	for _, tc := range []struct {
		name     string
		deadline *timestamppb.Timestamp
		says     string
	}{
		{"milliseconds as seconds", &timestamppb.Timestamp{Seconds: future.UnixMilli()}, "milliseconds"},
		{"nanos past a second", &timestamppb.Timestamp{Seconds: future.Unix(), Nanos: 1_000_000_000}, "nanos"},
		{"negative nanos", &timestamppb.Timestamp{Seconds: future.Unix(), Nanos: -1}, "nanos"},
	} {
		hr := validHelpRequest()
		hr.Timing = &pb.HelpRequest_Deadline{Deadline: tc.deadline}
		_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", tc.name, err)
			continue
		}
		var desc string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, fv := range br.FieldViolations {
					if fv.Field == "help_request.deadline" {
						desc = fv.Description
					}
				}
			}
		}
		if !strings.Contains(desc, tc.says) {
			t.Errorf("%s: help_request.deadline %q; want it to mention %s", tc.name, desc, tc.says)
		}
	}
}
