package server_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestHouseMovedOutOfStreetIsAudited: a helpline worker corrects a
// caller's street, typing the house with it ("7 Holburn Street"), and the
// server moves the house into the address lines, where volunteers do not
// see it before accepting. The edit changed the caller's address, but its
// only path was location.street, no personal field, so the request's
// trail held no change at all: a safeguarding lead asking who changed the
// door a volunteer was sent to found nobody. The change of the address
// lines is on record; a street corrected without a house is not one.
func TestHouseMovedOutOfStreetIsAudited(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, street, phone string
		want                bool // an update record naming location.address_lines
	}{
		{"a house typed with the street", "7 Holburn Street", "01224 100021", true},
		{"the street alone", "Holburn Street", "01224 100022", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := h.createHR(shopping(callerPhone(tc.phone)))
			resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Street: tc.street}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if moved := !slices.Equal(resp.HelpRequest.Location.AddressLines, hr.Location.AddressLines); moved != tc.want {
				t.Fatalf("address lines %v after the edit (were %v): moved %v, want %v", resp.HelpRequest.Location.AddressLines, hr.Location.AddressLines, moved, tc.want)
			}
			trail, err := pb.NewAdminServiceClient(h.conn).ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: hr.Name, Action: "update"})
			if err != nil {
				t.Fatal(err)
			}
			var got bool
			for _, r := range trail.AuditRecords {
				got = got || slices.Contains(r.Fields, "location.address_lines")
			}
			if got != tc.want {
				t.Errorf("an update of location.address_lines on the trail: %v, want %v (trail %v)", got, tc.want, trail.AuditRecords)
			}
		})
	}
}
