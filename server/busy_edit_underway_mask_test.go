package server_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditUnderWayHidesNoNewClash: Ann is on her morning round (two
// hour-long errands 10:00-12:00 on two streets, which the rule finds no
// longer fit at 10:30) and has two errands 14:00-15:00 on Holburn Street,
// one visit. At 10:30 one afternoon caller's street is corrected to Crown
// Street: two hour-long errands in one hour on two streets, Ann at two
// places at once. The morning's misfit, which the edit has nothing to do
// with, must not wave it through.
func TestEditUnderWayHidesNoNewClash(t *testing.T) {
	rd := annsRound(t, morningRound,
		errandAt{"Holburn Street", "01224 700003", 14 * time.Hour, 15 * time.Hour},
		errandAt{"Holburn Street", "01224 700004", 14 * time.Hour, 15 * time.Hour})
	h, rs := rd.h, rd.rs
	edit := &pb.HelpRequest{Name: rs[2].Name, Location: &pb.Location{Postcode: "AB10 1AB", Street: "Crown Street"}}
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"location.street"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")

	// A correction that keeps the afternoon visit one stands.
	edit = &pb.HelpRequest{Name: rs[2].Name, Needs: []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION}}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"needs"}}}); err != nil {
		t.Errorf("a shorter errand at 10:30: %v", err)
	}
}
