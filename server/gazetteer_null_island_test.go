package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestGazetteerStoredAtNullIsland: a directory that marked a postcode
// without a grid reference 0, 0, loaded by a version that took it, left
// that postcode in the data file at 0, 0, and the gazetteer stays in the
// file: no later load replaces it, as the row is now skipped. A request
// given that postcode took the centre 0, 0, passing the refusal of 0, 0
// given by hand, and was stored where matching never finds it, nor
// anyone told. The postcode is now read as not known: the caller is asked
// for the address's coordinates, as for a postcode the directory lacks.
func TestGazetteerStoredAtNullIsland(t *testing.T) {
	h := newHarness(t)
	done := false
	if _, err := h.st.LoadPostcodes(h.ctx, func() (store.PostcodeUpdate, bool, error) {
		if done {
			return store.PostcodeUpdate{}, false, nil
		}
		done = true
		return store.PostcodeUpdate{Postcode: "ZE1 0AA"}, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "ZE1 0AA"})
	wantFailure(t, err, codes.NotFound, "POSTCODE_NOT_FOUND")
	resp, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
		r.Location = &pb.Location{Postcode: "ZE1 0AA", Street: "Commercial Street"}
	})})
	if err == nil {
		t.Fatalf("stored at %v (%v)", resp.HelpRequest.GetLocation().GetLatLng(), resp.HelpRequest.GetLocation().GetCoordinatesSource())
	}
	code, reason, fields := errorOf(t, err)
	if code != codes.InvalidArgument || reason != "UNKNOWN_POSTCODE" || len(fields) != 1 || fields[0] != "help_request.location.postcode" {
		t.Errorf("got %v %s naming %v, want InvalidArgument UNKNOWN_POSTCODE naming the postcode", code, reason, fields)
	}
	// With the address's coordinates it is taken, as for any postcode the
	// directory lacks, not refused as far from a centre off Africa.
	if _, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: shopping(func(r *pb.HelpRequest) {
		r.Location = &pb.Location{Postcode: "ZE1 0AA", Street: "Commercial Street", LatLng: &pb.LatLng{Latitude: 60.155, Longitude: -1.145}}
	})}); err != nil {
		t.Errorf("with the address's coordinates: %v", err)

	}
	// A request that took the centre 0, 0 before: an edit of its street
	// kept it there, as a terminated postcode's centre is kept, and it
	// stayed out of matching unseen. The caller is asked for coordinates.
	hr := h.createHR(shopping())
	stored, err := h.st.GetHelpRequest(h.ctx, hr.Name[len("helpRequests/"):])
	if err != nil {
		t.Fatal(err)
	}
	stored.Location = &pb.Location{Postcode: "ZE1 0AA", Street: "Commercial Street", LatLng: &pb.LatLng{},
		CoordinatesSource: pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID}
	if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
		t.Fatal(err)
	}
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Location: &pb.Location{Street: "Harbour Street"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}}})
	if code, reason, _ := errorOf(t, err); code != codes.InvalidArgument || reason != "UNKNOWN_POSTCODE" {
		t.Errorf("an edit of the street of a request at the centre 0, 0: %v, want UNKNOWN_POSTCODE", err)
	}
}
