package server_test

import (
	"fmt"

	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestReadOfPostcodeCentreNamesNoPin: a safeguarding lead asking who was
// handed the pin on a caller's door reads the trail for reads naming
// location.lat_lng. A request placed at its postcode's centre holds no
// pin (the centre is no one's, and its create names none), yet every read
// of it, by a get, a list, an edit's answer or an export, named the
// coordinates among the fields read: the trail said staff were handed a
// pin that did not exist, burying the reads of the ones that do. A read
// names them where they were given, and only there.
func TestReadOfPostcodeCentreNamesNoPin(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	door := &pb.LatLng{Latitude: 57.1400, Longitude: -2.0950}
	pinned := h.createHR(shopping(callerPhone("01224 100031"), func(hr *pb.HelpRequest) { hr.Location.LatLng = door }))
	centre := h.createHR(shopping(callerPhone("01224 100032")))
	if centre.Location.CoordinatesSource == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN {
		t.Fatalf("a request without coordinates stored them as given: %v", centre.Location)
	}
	edited := h.createHR(shopping(callerPhone("01224 100033")))

	h.getHR(pinned.Name)
	h.getHR(centre.Name)
	if _, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: edited.Name, Details: "Milk and bread, and a paper"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExportPersonalData(h.ctx, &pb.ExportPersonalDataRequest{Phone: "01224 100032"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, request string
		want          bool
	}{
		{"the pinned door", pinned.Name, true},
		{"the postcode's centre", centre.Name, false},
		{"the postcode's centre, edited", edited.Name, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: tc.request, Action: "read_contact"})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.AuditRecords) == 0 {
				t.Fatalf("no read on %s's trail", tc.request)
			}
			for _, r := range resp.AuditRecords {
				if got := slices.Contains(r.Fields, "location.lat_lng"); got != tc.want {
					t.Errorf("read by %s names fields %v: location.lat_lng among them %v, want %v", r.Method, r.Fields, got, tc.want)
				}
			}
		})
	}
}

// TestMoveBetweenPostcodeCentresNamesNoPin: a form saving the whole
// location (mask "location") moves a caller placed at her postcode's
// centre to another postcode's centre. Neither is anyone's pin, as the
// create's record and a move by location.postcode say, yet the update's
// record named location.lat_lng as changed: a safeguarding lead asking
// who moved the pin on her door found a move of one that never was. A
// pin given, or one dropped, is still named.
func TestMoveBetweenPostcodeCentresNamesNoPin(t *testing.T) {
	h := newHarness(t)
	admin := pb.NewAdminServiceClient(h.conn)
	door := &pb.LatLng{Latitude: 57.1400, Longitude: -2.0950}
	for _, tc := range []struct {
		name string
		pin  *pb.LatLng // at create
		to   *pb.LatLng // in the saved location
		want bool
	}{
		{"centre to centre", nil, nil, false},
		{"centre to a pin", nil, door, true},
		{"a pin to the new centre", door, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := h.createHR(shopping(callerPhone("01224 1000"+fmt.Sprint(50+len(tc.name))), func(hr *pb.HelpRequest) { hr.Location.LatLng = tc.pin }))
			loc := proto.CloneOf(hr.Location)
			loc.Postcode, loc.LatLng, loc.CoordinatesSource = "AB11 5QN", tc.to, pb.CoordinatesSource_COORDINATES_SOURCE_UNSPECIFIED
			if tc.to != nil {
				loc.Postcode = hr.Location.Postcode
			}
			if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: loc},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location"}},
			}); err != nil {
				t.Fatal(err)
			}
			resp, err := admin.ListAuditRecords(h.ctx, &pb.ListAuditRecordsRequest{Resource: hr.Name, Action: "update"})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.AuditRecords) != 1 {
				t.Fatalf("update records %v, want one", resp.AuditRecords)
			}
			if got := slices.Contains(resp.AuditRecords[0].Fields, "location.lat_lng"); got != tc.want {
				t.Errorf("update record's fields %v: location.lat_lng among them %v, want %v", resp.AuditRecords[0].Fields, got, tc.want)
			}
		})
	}
}
