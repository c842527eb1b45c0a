package server_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestVettingChangesOnRecord: a DBS check is the organisation's word that
// a volunteer may go into homes. Whoever records one revoked, lapsed or
// raised (a coordinator at 9pm told of a check withdrawn, or someone
// raising a check that was never made) is on the audit trail with the
// time, as a hold is, after the event log has let the change go; an edit
// that leaves the check as it was is not taken for a change of it.
func TestVettingChangesOnRecord(t *testing.T) {
	enhanced := &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2029, Month: 3, Day: 31}}
	tests := []struct {
		name string
		path string
		edit func(v *pb.Volunteer)
		want int // records naming vetting, beyond the create's
	}{
		{"check revoked", "vetting", func(v *pb.Volunteer) { v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_NONE} }, 1},
		{"check lapsed", "vetting", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2024, Month: 1, Day: 1}}
		}, 1},
		{"check raised", "vetting", func(v *pb.Volunteer) {
			v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2031, Month: 1, Day: 1}}
		}, 1},
		{"whole record, check as it was", "*", func(v *pb.Volunteer) { v.Capacity = 2 }, 0},
		{"capacity only", "capacity", func(v *pb.Volunteer) { v.Capacity = 2 }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			coordSecret := h.newToken(h.st, &pb.Token{DisplayName: "night coordinator", Role: pb.Role_ROLE_COORDINATOR})
			coord := pb.NewVolunteerServiceClient(h.as(coordSecret))
			v := h.createVol(matchVolunteer("Callum", "AB10 1AF", func(v *pb.Volunteer) { v.Vetting = enhanced }))
			created := vettingRecords(t, h, v.Name)
			if len(created) != 1 {
				t.Errorf("registered with a DBS check: %d audit records name vetting, want the create's", len(created))
			}
			in := v
			if tt.path != "*" {
				in = &pb.Volunteer{Name: v.Name}
			}
			tt.edit(in)
			if _, err := coord.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{tt.path}}}); err != nil {
				t.Fatal(err)
			}
			recs := vettingRecords(t, h, v.Name)
			if got := len(recs) - len(created); got != tt.want {
				t.Fatalf("%d audit records of the edit name vetting, want %d", got, tt.want)
			}
			if tt.want > 0 && (recs[0].Action != "update" || recs[0].Role != pb.Role_ROLE_COORDINATOR || recs[0].Actor == "" || recs[0].Time == nil) {
				t.Errorf("the change of the check is on record as %v", recs[0])
			}
		})
	}
}

// vettingRecords are the audit records of volunteer name that name its
// vetting, newest first.
func vettingRecords(t *testing.T, h *harness, name string) []*pb.AuditRecord {
	t.Helper()
	recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: name}, store.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(recs, func(r *pb.AuditRecord) bool { return !slices.Contains(r.Fields, "vetting") })
}
