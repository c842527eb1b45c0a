package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// TestDeleteVolunteerWithJobsSaysHowToStopThem: a coordinator told at
// 9pm that a volunteer has died, or must stop at once, deletes their
// record; it is refused while they hold an offer or a job. The refusal
// names them and says how to end what they hold without taking the help
// from the caller: hold them and hand their jobs back, never "complete or
// cancel the request", which would mark a visit nobody made as done or
// leave the caller with no one coming.
func TestDeleteVolunteerWithJobsSaysHowToStopThem(t *testing.T) {
	tests := []struct {
		name   string
		accept bool
	}{
		{"offer waiting", false},
		{"assigned tomorrow", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			v := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
			hr := h.createHR(shopping(func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: ts(20 * time.Hour), EndTime: ts(24 * time.Hour)}}
			}))
			o := h.offer(hr.Name, v.Name)
			if tt.accept {
				if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: v.Name})
			wantFailure(t, err, codes.FailedPrecondition, server.ReasonHasCommitments)
			msg := status.Convert(err).Message()
			if got := statusMeta(t, err, "resource"); got != v.Name {
				t.Errorf("refusal %q names resource %q, want the volunteer %s", msg, got, v.Name)
			}
			if strings.Contains(msg, "cancel the request") || !strings.Contains(msg, "hold them") || !strings.Contains(msg, "release") {
				t.Errorf("refusal %q does not say to hold the volunteer and hand back their jobs", msg)
			}
			if got := h.getHR(hr.Name); got.State == pb.HelpRequest_STATE_OPEN {
				t.Errorf("the refused delete changed the request to %v", got.State)
			}
		})
	}
}
