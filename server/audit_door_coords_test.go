package server_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestCoordinatesOfTheDoorAreAudited: coordinates read off a map pin the
// caller's house as surely as the address lines do (a volunteer never
// sees them before accepting, and an erasure takes them). A safeguarding
// lead asking who moved the pin on a caller's door, or who was handed it,
// found the pin in no audit record: an edit of it alone wrote none, and
// neither a create nor a read named it among the fields. Each now does, where the coordinates were given.
func TestCoordinatesOfTheDoorAreAudited(t *testing.T) {
	h := newHarness(t)
	door := &pb.LatLng{Latitude: 57.1400, Longitude: -2.0950}
	pinned := h.createHR(shopping(callerPhone("01224 100011"), func(hr *pb.HelpRequest) { hr.Location.LatLng = door }))
	if pinned.Location.CoordinatesSource != pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN {
		t.Fatalf("coordinates given at create stored as %v", pinned.Location.CoordinatesSource)
	}
	moved := h.createHR(shopping(callerPhone("01224 100012")))
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: moved.Name, Location: &pb.Location{LatLng: door}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.lat_lng"}},
	}); err != nil {
		t.Fatal(err)
	}
	centre := h.createHR(shopping(callerPhone("01224 100013")))
	h.getHR(centre.Name)
	// A move to a new postcode, with no new pin, takes the new postcode's
	// centre: the pin on the old door is gone.
	dropped := h.createHR(shopping(callerPhone("01224 100014"), func(hr *pb.HelpRequest) { hr.Location.LatLng = door }))
	resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: dropped.Name, Location: &pb.Location{Postcode: "AB11 5QN"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.postcode"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.HelpRequest.Location.CoordinatesSource == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN {
		t.Fatalf("a move to a new postcode kept the old pin: %v", resp.HelpRequest.Location)
	}

	for _, tc := range []struct {
		name, request, action string
		want                  bool // location.lat_lng among the record's fields
	}{
		{"created with the door pinned", pinned.Name, "create", true},
		{"created at the postcode's centre", centre.Name, "create", false},
		{"the pin moved by an edit", moved.Name, "update", true},
		{"the pin dropped by a move", dropped.Name, "update", true},
		// The postcode's centre is no one's: a read hands out no pin
		// (TestReadOfPostcodeCentreNamesNoPin).
		{"read", centre.Name, "read_contact", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := pb.NewAdminServiceClient(h.conn).ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: tc.request, Action: tc.action})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.AuditRecords) == 0 {
				t.Fatalf("no %s record on %s's trail", tc.action, tc.request)
			}
			if got := slices.Contains(resp.AuditRecords[0].Fields, "location.lat_lng"); got != tc.want {
				t.Errorf("%s record's fields %v: location.lat_lng among them %v, want %v", tc.action, resp.AuditRecords[0].Fields, got, tc.want)
			}
		})
	}
}
