package server_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func TestHelpRequestLifecycle(t *testing.T) {
	h := newHarness(t)
	in := validHelpRequest()
	in.ExternalId = "fb-001"
	got := h.createHR(in)

	if !strings.HasPrefix(got.Name, "helpRequests/") || len(got.Name) != len("helpRequests/")+26 {
		t.Errorf("name = %q", got.Name)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"state", got.State, pb.HelpRequest_STATE_OPEN},
		{"urgency", got.Urgency, pb.Urgency_URGENCY_NORMAL},
		{"postcode", got.Location.Postcode, "AB10 1AB"},
		{"street", got.Location.Street, "Union Street"},
		{"skills", strings.Join(got.RequiredSkills, ","), "welsh"},
		{"phone", got.Requester.Phone, "+441224123456"},
		{"name", got.Requester.DisplayName, "Margaret Ironside"},
		{"source", got.Location.CoordinatesSource, pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID},
		{"external id", got.ExternalId, "fb-001"},
		{"organisation", got.Organisation, "aberdeen-mutual-aid"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if ll := got.Location.LatLng; ll == nil || math.Abs(ll.Latitude-57.1496) > 0.001 || math.Abs(ll.Longitude+2.0969) > 0.001 {
		t.Errorf("lat_lng = %v, want the centre of AB10 1AB", ll)
	}
	if got.Etag == "" || got.CreateTime == nil || !got.CreateTime.AsTime().Equal(got.UpdateTime.AsTime()) {
		t.Errorf("etag %q, times %v %v", got.Etag, got.CreateTime, got.UpdateTime)
	}

	read, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: got.Name})
	if err != nil || !proto.Equal(read.HelpRequest, got) {
		t.Fatalf("get = %v, %v; want %v", read, err, got)
	}

	// Implicit mask: only the fields set change.
	upd, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{
		Name: got.Name, Details: "Just milk now", Urgency: pb.Urgency_URGENCY_HIGH,
	}})
	if err != nil {
		t.Fatal(err)
	}
	u := upd.HelpRequest
	if u.Details != "Just milk now" || u.Urgency != pb.Urgency_URGENCY_HIGH || len(u.Needs) != 2 || u.Requester.Phone != "+441224123456" {
		t.Errorf("after update: %v", u)
	}
	if u.Etag == got.Etag || !u.UpdateTime.AsTime().After(got.UpdateTime.AsTime()) || !u.CreateTime.AsTime().Equal(got.CreateTime.AsTime()) {
		t.Errorf("etag/time not advanced: %q %v -> %q %v", got.Etag, got.UpdateTime, u.Etag, u.UpdateTime)
	}

	// A new postcode without coordinates takes the new postcode's centre.
	upd, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: got.Name, Location: &pb.Location{Postcode: "AB11 5QN"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.postcode"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	loc := upd.HelpRequest.Location
	if loc.Postcode != "AB11 5QN" || loc.Street != "Union Street" || len(loc.AddressLines) != 2 || proto.Equal(loc.LatLng, got.Location.LatLng) {
		t.Errorf("after postcode change: %v", loc)
	}
	lookup, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "ab115qn"})
	if err != nil || !proto.Equal(lookup.LatLng, loc.LatLng) {
		t.Errorf("coordinates %v, gazetteer %v %v", loc.LatLng, lookup, err)
	}

	// Given coordinates are kept across later changes that do not touch them.
	given := &pb.LatLng{Latitude: 57.1400, Longitude: -2.0950}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: got.Name, Location: &pb.Location{LatLng: given}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.lat_lng"}},
	}); err != nil {
		t.Fatal(err)
	}
	upd, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: got.Name, Location: &pb.Location{Street: "HOLBURN ST"}},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"location.street"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := upd.HelpRequest.Location; !proto.Equal(l.LatLng, given) || l.CoordinatesSource != pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN || l.Street != "Holburn Street" {
		t.Errorf("given coordinates lost: %v", l)
	}

	// "*" replaces every mutable field, clearing those not given.
	full := validHelpRequest()
	full.Name = got.Name
	full.Details = ""
	full.Needs = []pb.Need{pb.Need_NEED_BEFRIENDING_CALL}
	full.RemoteOk = true
	upd, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: full, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	if u := upd.HelpRequest; u.Details != "" || !u.RemoteOk || u.Urgency != pb.Urgency_URGENCY_NORMAL || u.ExternalId != "fb-001" || u.Location.Postcode != "AB10 1AB" {
		t.Errorf("after replace: %v", u)
	}

	if _, err := h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: got.Name}); err != nil {
		t.Fatal(err)
	}
	_, err = h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: got.Name})
	if code, reason, _ := errorOf(t, err); code != codes.NotFound || reason != "HELP_REQUEST_NOT_FOUND" {
		t.Errorf("get after delete: %v", err)
	}
	_, err = h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: got.Name})
	if code, _, _ := errorOf(t, err); code != codes.NotFound {
		t.Errorf("second delete: %v", err)
	}
	// The external id is free again once its request is gone.
	h.createHR(in)
}

func TestVolunteerLifecycle(t *testing.T) {
	h := newHarness(t)
	got := h.createVol(validVolunteer())
	if !strings.HasPrefix(got.Name, "volunteers/") || got.Contact.Phone != "+447700900123" || got.Home.Postcode != "AB10 1AF" ||
		got.MaxDistanceMetres != 15000 || !slices.Equal(got.Skills, []string{"driver", "dog-friendly"}) ||
		got.Availability.TimeZone != "Europe/London" || got.Capacity != 2 || got.Home.LatLng == nil {
		t.Errorf("created %v", got)
	}
	upd, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: got.Name, Paused: true, Etag: got.Etag},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
	})
	if err != nil || !upd.Volunteer.Paused || upd.Volunteer.Capacity != 2 {
		t.Fatalf("pause: %v %v", upd, err)
	}
	// Implicit masks cannot set false; an explicit one can.
	upd, err = h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: got.Name},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
	})
	if err != nil || upd.Volunteer.Paused {
		t.Fatalf("resume: %v %v", upd, err)
	}
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: got.Name, Etag: got.Etag}); err == nil {
		t.Fatal("delete with a stale etag succeeded")
	} else if code, reason, _ := errorOf(t, err); code != codes.Aborted || reason != "ETAG_MISMATCH" {
		t.Errorf("stale delete: %v", err)
	}
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: got.Name, Etag: upd.Volunteer.Etag}); err != nil {
		t.Fatal(err)
	}
	_, err = h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: got.Name})
	if code, reason, _ := errorOf(t, err); code != codes.NotFound || reason != "VOLUNTEER_NOT_FOUND" {
		t.Errorf("get after delete: %v", err)
	}
}

func TestEtagConflict(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	first := &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "first", Etag: hr.Etag}}
	second := &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "second", Etag: hr.Etag}}
	if _, err := h.hr.UpdateHelpRequest(h.ctx, first); err != nil {
		t.Fatal(err)
	}
	_, err := h.hr.UpdateHelpRequest(h.ctx, second)
	if code, reason, _ := errorOf(t, err); code != codes.Aborted || reason != "ETAG_MISMATCH" {
		t.Fatalf("second update with the same etag: %v", err)
	}
	got, _ := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if got.HelpRequest.Details != "first" {
		t.Errorf("details = %q, want the first update's", got.HelpRequest.Details)
	}

	// Without etags, concurrent updates all land: the server retries.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: fmt.Sprintf("writer %d", i)},
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if code, _, _ := errorOf(t, err); code != codes.Aborted {
				t.Errorf("concurrent update: %v", err)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of 20 concurrent updates without etags failed", failed)
	}
}

func TestIdempotentCreateUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	const requestID = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	req := &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest(), RequestId: requestID}
	names := make(chan string, 100)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.hr.CreateHelpRequest(h.ctx, req)
			if err != nil {
				t.Error(err)
				return
			}
			names <- resp.HelpRequest.Name
		}()
	}
	wg.Wait()
	close(names)
	seen := map[string]int{}
	for n := range names {
		seen[n]++
	}
	if len(seen) != 1 {
		t.Fatalf("100 creates with one request_id gave %d names: %v", len(seen), seen)
	}
	if n, _ := h.countStored(); n != 1 {
		t.Fatalf("stored %d requests, want 1", n)
	}

	// The same request_id with different content is refused.
	other := proto.Clone(req).(*pb.CreateHelpRequestRequest)
	other.HelpRequest.Details = "something else"
	_, err := h.hr.CreateHelpRequest(h.ctx, other)
	if code, reason, fields := errorOf(t, err); code != codes.InvalidArgument || reason != "REQUEST_ID_REUSED" || !slices.Equal(fields, []string{"request_id"}) {
		t.Errorf("reused request_id: %v", err)
	}
	// Once the request is deleted, a retry says so rather than recreating it.
	for n := range seen {
		if _, err := h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = h.hr.CreateHelpRequest(h.ctx, req)
	if code, reason, _ := errorOf(t, err); code != codes.FailedPrecondition || reason != "REQUEST_ID_TARGET_DELETED" {
		t.Errorf("retry after delete: %v", err)
	}

	// Volunteers are idempotent too.
	vreq := &pb.CreateVolunteerRequest{Volunteer: validVolunteer(), RequestId: requestID}
	a, err := h.vol.CreateVolunteer(h.ctx, vreq)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.vol.CreateVolunteer(h.ctx, vreq)
	if err != nil || a.Volunteer.Name != b.Volunteer.Name {
		t.Errorf("volunteer retry: %v %v", b, err)
	}
	if _, n := h.countStored(); n != 1 {
		t.Errorf("stored %d volunteers, want 1", n)
	}
}

func TestExternalIDUniquePerOrganisation(t *testing.T) {
	h := newHarness(t)
	in := validHelpRequest()
	in.ExternalId = "row-17"
	first := h.createHR(in)
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: in})
	if code, reason, _ := errorOf(t, err); code != codes.AlreadyExists || reason != "EXTERNAL_ID_EXISTS" {
		t.Errorf("duplicate external_id: %v", err)
	}
	// A partner whose first reply was lost (and who sent no request_id)
	// is told which request holds the id, to read it back: List cannot
	// filter by external_id.
	if got := statusMeta(t, err, "resource"); got != first.Name {
		t.Errorf("duplicate external_id names resource %q, want %s", got, first.Name)
	}
	in.Organisation = "torry-food-bank"
	h.createHR(in)
	if n, _ := h.countStored(); n != 2 {
		t.Errorf("stored %d, want 2", n)
	}
}

func TestListPaginationAndFilters(t *testing.T) {
	h := newHarness(t)
	postcodes := []string{"AB10 1AB", "AB10 1AF", "AB11 5QN", "AB10 6RN"}
	var all []string
	for i := range 130 {
		in := validHelpRequest()
		in.Location = &pb.Location{Postcode: postcodes[i%len(postcodes)]}
		in.Requester.Phone = fmt.Sprintf("01224 %06d", i%5)
		if i%3 == 0 {
			in.Organisation = "torry-food-bank"
		}
		all = append(all, h.createHR(in).Name)
	}
	list := func(req *pb.ListHelpRequestsRequest) []string {
		t.Helper()
		var names []string
		for pages := 0; ; pages++ {
			resp, err := h.hr.ListHelpRequests(h.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if int32(len(resp.HelpRequests)) > max(req.PageSize, 0) && req.PageSize > 0 {
				t.Fatalf("page of %d, asked for %d", len(resp.HelpRequests), req.PageSize)
			}
			for _, r := range resp.HelpRequests {
				names = append(names, r.Name)
			}
			if resp.NextPageToken == "" {
				return names
			}
			if pages > 1000 {
				t.Fatal("pagination does not end")
			}
			req = proto.Clone(req).(*pb.ListHelpRequestsRequest)
			req.PageToken = resp.NextPageToken
		}
	}
	if got := list(&pb.ListHelpRequestsRequest{PageSize: 25}); !slices.Equal(got, all) {
		t.Errorf("all pages: %d names, want %d in creation order", len(got), len(all))
	}
	if got := list(&pb.ListHelpRequestsRequest{}); !slices.Equal(got, all) {
		t.Errorf("default page size: %d names", len(got))
	}
	count := func(keep func(i int) bool) int {
		n := 0
		for i := range all {
			if keep(i) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name string
		req  *pb.ListHelpRequestsRequest
		want int
	}{
		{"postcode", &pb.ListHelpRequestsRequest{Postcode: "ab101ab", PageSize: 7}, count(func(i int) bool { return i%4 == 0 })},
		{"sector", &pb.ListHelpRequestsRequest{Postcode: "AB10 1", PageSize: 7}, count(func(i int) bool { return i%4 <= 1 })},
		{"district", &pb.ListHelpRequestsRequest{Postcode: "ab10", PageSize: 7}, count(func(i int) bool { return i%4 != 2 })},
		{"organisation", &pb.ListHelpRequestsRequest{Organisation: "torry-food-bank", PageSize: 7}, count(func(i int) bool { return i%3 == 0 })},
		{"phone", &pb.ListHelpRequestsRequest{RequesterPhone: "+44 1224 000002", PageSize: 7}, count(func(i int) bool { return i%5 == 2 })},
		{"state", &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_OPEN, PageSize: 50}, len(all)},
		{"other state", &pb.ListHelpRequestsRequest{State: pb.HelpRequest_STATE_FULFILLED}, 0},
		{"combined", &pb.ListHelpRequestsRequest{Organisation: "torry-food-bank", Postcode: "AB10 1AB", PageSize: 3}, count(func(i int) bool { return i%3 == 0 && i%4 == 0 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := list(tt.req)
			if len(got) != tt.want {
				t.Errorf("%d results, want %d", len(got), tt.want)
			}
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("duplicates in %v", got)
			}
		})
	}

	// A token only works with the filters it was made for.
	resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 5, Organisation: "torry-food-bank"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: 5, PageToken: resp.NextPageToken})
	if code, reason, fields := errorOf(t, err); code != codes.InvalidArgument || reason != "INVALID_PAGE_TOKEN" || !slices.Equal(fields, []string{"page_token"}) {
		t.Errorf("token with other filters: %v", err)
	}

	// Volunteers page too.
	for i := range 12 {
		v := validVolunteer()
		if i%2 == 0 {
			v.Skills = []string{"welsh"}
		}
		h.createVol(v)
	}
	var vols int
	for tok := ""; ; {
		r, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{PageSize: 5, PageToken: tok, Skill: "Welsh"})
		if err != nil {
			t.Fatal(err)
		}
		vols += len(r.Volunteers)
		if tok = r.NextPageToken; tok == "" {
			break
		}
	}
	if vols != 6 {
		t.Errorf("%d Welsh speakers, want 6", vols)
	}
}

func TestReopenFindsEverything(t *testing.T) {
	h := newHarness(t)
	var names []string
	for range 30 {
		names = append(names, h.createHR(validHelpRequest()).Name)
	}
	vol := h.createVol(validVolunteer())
	h.reopen()
	for _, n := range names {
		if _, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: n}); err != nil {
			t.Errorf("after reopen, %s: %v", n, err)
		}
	}
	got, err := h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: vol.Name})
	if err != nil || !proto.Equal(got.Volunteer, vol) {
		t.Errorf("volunteer after reopen: %v %v", got, err)
	}
	// The gazetteer was stored, not just held in memory.
	if _, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"}); err != nil {
		t.Error(err)
	}
	// New writes still get newer etags than old ones.
	next := h.createHR(validHelpRequest())
	if next.Etag <= vol.Etag && len(next.Etag) <= len(vol.Etag) {
		t.Errorf("etag after reopen %q not after %q", next.Etag, vol.Etag)
	}
}

func TestLookupPostcode(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		in     string
		code   codes.Code
		reason string
		want   string
	}{
		{"ab10 1ab", codes.OK, "", "AB10 1AB"},
		{"AB101AF", codes.OK, "", "AB10 1AF"},
		{"SW1A 1AA", codes.NotFound, "POSTCODE_NOT_FOUND", ""}, // real, but not in the Aberdeen sample
		{"AB1 0AA", codes.NotFound, "POSTCODE_NOT_FOUND", ""},  // terminated in 1996
		{"JE2 4WD", codes.NotFound, "POSTCODE_NOT_FOUND", ""},  // live but with no grid reference
		{"not a postcode", codes.InvalidArgument, "INVALID_FIELDS", ""},
		{"", codes.InvalidArgument, "INVALID_FIELDS", ""},
	}
	for _, tt := range tests {
		resp, err := h.gz.LookupPostcode(h.ctx, &pb.LookupPostcodeRequest{Postcode: tt.in})
		if tt.code == codes.OK {
			if err != nil || resp.Postcode != tt.want || resp.LatLng.Latitude < 57 || resp.LatLng.Latitude > 57.3 {
				t.Errorf("LookupPostcode(%q) = %v, %v", tt.in, resp, err)
			}
			continue
		}
		if code, reason, _ := errorOf(t, err); code != tt.code || reason != tt.reason {
			t.Errorf("LookupPostcode(%q): %v", tt.in, err)
		}
	}
}

func TestHealthAndReflection(t *testing.T) {
	h := newHarness(t)
	resp, err := healthpb.NewHealthClient(h.conn).Check(h.ctx, &healthpb.HealthCheckRequest{Service: "doorstep.v1.HelpRequestService"})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v %v", resp, err)
	}
	stream, err := reflectpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, s := range r.GetListServicesResponse().GetService() {
		services = append(services, s.Name)
	}
	for _, want := range []string{"doorstep.v1.HelpRequestService", "doorstep.v1.VolunteerService", "doorstep.v1.GazetteerService"} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %v, missing %s", services, want)
		}
	}
}

func TestReceiveSizeIsBounded(t *testing.T) {
	h := newHarness(t)
	in := validHelpRequest()
	in.Details = strings.Repeat("x", 2<<20)
	_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: in})
	if code := status.Code(err); code != codes.ResourceExhausted {
		t.Errorf("2 MiB request: %v", err)
	}
	if n, _ := h.countStored(); n != 0 {
		t.Errorf("stored %d", n)
	}
}

// TestLogsCarryNoPersonalData runs the API, bad calls included, and reads
// every log line for the personal data it was sent.
func TestLogsCarryNoPersonalData(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	bad := validHelpRequest()
	bad.Requester.Phone = "Margaret's number"
	_, _ = h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: bad})
	_, _ = h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{RequesterPhone: "01224 123456"})
	_, _ = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Holburn chemist"}})
	h.createVol(validVolunteer())
	if h.logs.Len() == 0 {
		t.Fatal("no log lines at debug level: the test would prove nothing")
	}
	secrets := []string{"Margaret", "Ironside", "1224123456", "01224", "Union", "Flat 2", "Holburn", "cat's food", "Callum", "900123", "AB10"}
	for _, e := range h.logs.All() {
		// Durations are left out: their digits can spell part of a phone
		// number ("took 2.012245ms" holds "01224") and carry none.
		fields := e.ContextMap()
		for k, v := range fields {
			if _, ok := v.(time.Duration); ok {
				delete(fields, k)
			}
		}
		line := e.Message + " " + fmt.Sprint(fields)
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line carries %q: %s", s, line)
			}
		}
	}
}
