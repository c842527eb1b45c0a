package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func window(from, to time.Duration) *pb.HelpRequest_Window {
	return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: ts(from), EndTime: ts(to)}}
}

// TestCreateHelpRequestRejects checks each bad input: INVALID_ARGUMENT,
// every bad field named, and nothing stored.
func TestCreateHelpRequestRejects(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		edit   func(r *pb.CreateHelpRequestRequest)
		fields []string
		reason string
	}{
		{"no request", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest = nil }, []string{"help_request"}, ""},
		{"no needs", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Needs = nil }, []string{"help_request.needs"}, ""},
		{"unknown need", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Needs = []pb.Need{99} }, []string{"help_request.needs[0]"}, ""},
		{"unspecified need", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Needs = []pb.Need{0} }, []string{"help_request.needs[0]"}, ""},
		{"repeated need", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Needs = []pb.Need{pb.Need_NEED_HOT_MEAL, pb.Need_NEED_HOT_MEAL}
		}, []string{"help_request.needs[1]"}, ""},
		{"other without details", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Needs, r.HelpRequest.Details = []pb.Need{pb.Need_NEED_OTHER}, "  "
		}, []string{"help_request.details"}, ""},
		{"details too long", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Details = strings.Repeat("é", 2001) }, []string{"help_request.details"}, ""},
		{"details with control characters", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Details = "milk\x00" }, []string{"help_request.details"}, ""},
		{"bad skill", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.RequiredSkills = []string{"ok", "two words"} }, []string{"help_request.required_skills[1]"}, ""},
		{"too many skills", func(r *pb.CreateHelpRequestRequest) {
			for i := range 21 { // different tags: one tag typed twice counts once
				r.HelpRequest.RequiredSkills = append(r.HelpRequest.RequiredSkills, fmt.Sprint("skill-", i))
			}
		}, []string{"help_request.required_skills"}, ""},
		{"unknown urgency", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Urgency = 42 }, []string{"help_request.urgency"}, ""},
		{"no window or deadline", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Timing = nil }, []string{"help_request.window"}, ""},
		{"window ends before it starts", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Timing = window(5*time.Hour, time.Hour) }, []string{"help_request.window.end_time"}, ""},
		{"window in the past", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Timing = window(-5*time.Hour, -time.Hour) }, []string{"help_request.window.end_time"}, ""},
		{"window of no length", func(r *pb.CreateHelpRequestRequest) {
			at := ts(time.Hour) // one instant: a window ending as it starts leaves no time to help in
			r.HelpRequest.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: at, EndTime: at}}
		}, []string{"help_request.window.end_time"}, ""},
		{"window too long", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Timing = window(time.Hour, 100*24*time.Hour) }, []string{"help_request.window.end_time"}, ""},
		{"window without start", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{EndTime: ts(time.Hour)}}
		}, []string{"help_request.window.start_time"}, ""},
		{"invalid timestamp", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Timing = &pb.HelpRequest_Deadline{Deadline: &timestamppb.Timestamp{Seconds: 1, Nanos: -5}}
		}, []string{"help_request.deadline"}, ""},
		{"deadline in the past", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Timing = &pb.HelpRequest_Deadline{Deadline: ts(-time.Minute)}
		}, []string{"help_request.deadline"}, ""},
		{"no location", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Location = nil }, []string{"help_request.location"}, ""},
		{"no postcode", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Location.Postcode = "" }, []string{"help_request.location.postcode"}, ""},
		{"malformed postcode", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Location.Postcode = "AB10 1CB" }, []string{"help_request.location.postcode"}, ""},
		{"unknown postcode without coordinates", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Location.Postcode = "SW1A 1AA" },
			[]string{"help_request.location.postcode"}, "UNKNOWN_POSTCODE"},
		{"coordinates off Earth", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Location.LatLng = &pb.LatLng{Latitude: 95, Longitude: 0}
		}, []string{"help_request.location.lat_lng"}, ""},
		{"coordinates far from the postcode", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Location.LatLng = &pb.LatLng{Latitude: 51.5, Longitude: -0.12}
		}, []string{"help_request.location.lat_lng"}, ""},
		{"too many address lines", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Location.AddressLines = []string{"a", "b", "c", "d", "e"}
		}, []string{"help_request.location.address_lines"}, ""},
		{"street too long", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Location.Street = strings.Repeat("a", 101) }, []string{"help_request.location.street"}, ""},
		{"no requester", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Requester = nil }, []string{"help_request.requester"}, ""},
		{"no display name", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Requester.DisplayName = " " }, []string{"help_request.requester.display_name"}, ""},
		{"bad phone", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Requester.Phone = "12345" }, []string{"help_request.requester.phone"}, ""},
		{"no organisation", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Organisation = "" }, []string{"help_request.organisation"}, ""},
		{"bad organisation", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.Organisation = "Food bank!" }, []string{"help_request.organisation"}, ""},
		{"external id too long", func(r *pb.CreateHelpRequestRequest) { r.HelpRequest.ExternalId = strings.Repeat("x", 129) }, []string{"help_request.external_id"}, ""},
		{"request id not a UUID", func(r *pb.CreateHelpRequestRequest) { r.RequestId = "retry-1" }, []string{"request_id"}, ""},
		{"several at once", func(r *pb.CreateHelpRequestRequest) {
			r.HelpRequest.Needs = nil
			r.HelpRequest.Requester.Phone = "n/a"
			r.HelpRequest.Location.Postcode = "nowhere"
		}, []string{"help_request.needs", "help_request.location.postcode", "help_request.requester.phone"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest()}
			tt.edit(req)
			_, err := h.hr.CreateHelpRequest(h.ctx, req)
			code, reason, fields := errorOf(t, err)
			if code != codes.InvalidArgument {
				t.Fatalf("code %v (%v), want InvalidArgument", code, err)
			}
			slices.Sort(fields)
			want := slices.Sorted(slices.Values(tt.fields))
			if !slices.Equal(fields, want) {
				t.Errorf("fields %v, want %v", fields, want)
			}
			if tt.reason != "" && reason != tt.reason {
				t.Errorf("reason %q, want %q", reason, tt.reason)
			}
			if n, _ := h.countStored(); n != 0 {
				t.Errorf("%d requests stored after a rejected create", n)
			}
		})
	}
}

// TestWindowOfNinetyDays: a window may be at most 90 days long, as the
// refusal of a longer one says; one of exactly 90 days (a caller's
// standing need until the end of the quarter) is taken, and a second
// more is refused, naming the end.
func TestWindowOfNinetyDays(t *testing.T) {
	h := newHarness(t)
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		length time.Duration
		fields []string
	}{
		{"exactly 90 days", 90 * 24 * time.Hour, nil},
		{"90 days and a second", 90*24*time.Hour + time.Second, []string{"help_request.window.end_time"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := shopping(func(r *pb.HelpRequest) {
				r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(tc.length))}}
			})
			_, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: r})
			if tc.fields == nil {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, tc.fields) {
				t.Errorf("got %v %v, want InvalidArgument on %v (%v)", code, fields, tc.fields, err)
			}
		})
	}
}

func TestCreateVolunteerRejects(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		edit   func(v *pb.Volunteer)
		fields []string
	}{
		{"no contact", func(v *pb.Volunteer) { v.Contact = nil }, []string{"volunteer.contact"}},
		{"bad phone", func(v *pb.Volunteer) { v.Contact.Phone = "0800" }, []string{"volunteer.contact.phone"}},
		{"no home", func(v *pb.Volunteer) { v.Home = nil }, []string{"volunteer.home"}},
		{"bad postcode", func(v *pb.Volunteer) { v.Home.Postcode = "ABC" }, []string{"volunteer.home.postcode"}},
		{"too near", func(v *pb.Volunteer) { v.MaxDistanceMetres = 50 }, []string{"volunteer.max_distance_metres"}},
		{"too far", func(v *pb.Volunteer) { v.MaxDistanceMetres = 200000 }, []string{"volunteer.max_distance_metres"}},
		{"unknown travel mode", func(v *pb.Volunteer) { v.TravelMode = 9 }, []string{"volunteer.travel_mode"}},
		{"bad skill", func(v *pb.Volunteer) { v.Skills = []string{"-driver"} }, []string{"volunteer.skills[0]"}},
		{"unknown DBS level", func(v *pb.Volunteer) { v.Vetting.Level = 7 }, []string{"volunteer.vetting.level"}},
		{"expiry without a check", func(v *pb.Volunteer) { v.Vetting.Level = pb.Vetting_DBS_LEVEL_NONE }, []string{"volunteer.vetting.expire_date"}},
		{"impossible date", func(v *pb.Volunteer) { v.Vetting.ExpireDate = &pb.Date{Year: 2027, Month: 2, Day: 30} }, []string{"volunteer.vetting.expire_date"}},
		{"bad time zone", func(v *pb.Volunteer) { v.Availability.TimeZone = "Europe/Aberdeen" }, []string{"volunteer.availability.time_zone"}},
		{"slot without a day", func(v *pb.Volunteer) { v.Availability.Weekly[0].Day = 0 }, []string{"volunteer.availability.weekly[0].day"}},
		{"slot ends before it starts", func(v *pb.Volunteer) {
			v.Availability.Weekly[0].EndTime = &pb.TimeOfDay{Hours: 9}
		}, []string{"volunteer.availability.weekly[0].end_time"}},
		{"slot at 25:00", func(v *pb.Volunteer) {
			v.Availability.Weekly[0].EndTime = &pb.TimeOfDay{Hours: 25}
		}, []string{"volunteer.availability.weekly[0].end_time"}},
		{"slot of no length", func(v *pb.Volunteer) {
			v.Availability.Weekly[0].StartTime, v.Availability.Weekly[0].EndTime = &pb.TimeOfDay{Hours: 10}, &pb.TimeOfDay{Hours: 10}
		}, []string{"volunteer.availability.weekly[0].end_time"}},
		{"slot at 10:60", func(v *pb.Volunteer) {
			v.Availability.Weekly[0].StartTime = &pb.TimeOfDay{Hours: 10, Minutes: 60}
		}, []string{"volunteer.availability.weekly[0].start_time"}},
		{"away backwards", func(v *pb.Volunteer) {
			v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2027, Month: 1, Day: 10}, EndDate: &pb.Date{Year: 2027, Month: 1, Day: 3}}}
		}, []string{"volunteer.availability.away[0].end_date"}},
		{"capacity too high", func(v *pb.Volunteer) { v.Capacity = 21 }, []string{"volunteer.capacity"}},
		{"no organisation", func(v *pb.Volunteer) { v.Organisation = "" }, []string{"volunteer.organisation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := validVolunteer()
			tt.edit(v)
			_, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v})
			code, _, fields := errorOf(t, err)
			if code != codes.InvalidArgument || !slices.Equal(fields, tt.fields) {
				t.Errorf("got %v %v, want InvalidArgument on %v (%v)", code, fields, tt.fields, err)
			}
			if _, n := h.countStored(); n != 0 {
				t.Errorf("%d volunteers stored after a rejected create", n)
			}
		})
	}
}

// TestOtherCallsReject covers names, list arguments and update masks.
func TestOtherCallsReject(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	vol := h.createVol(validVolunteer())
	missing := "helpRequests/01arz3ndektsv4rrffq69g5fav"
	tests := []struct {
		name   string
		call   func() error
		code   codes.Code
		fields []string
	}{
		{"get bad name", func() error {
			_, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: "requests/1"})
			return err
		}, codes.InvalidArgument, []string{"name"}},
		{"get bad id", func() error {
			_, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: "helpRequests/../../etc"})
			return err
		}, codes.InvalidArgument, []string{"name"}},
		{"get missing", func() error {
			_, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: missing})
			return err
		}, codes.NotFound, nil},
		{"get volunteer by request name", func() error {
			_, err := h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: hr.Name})
			return err
		}, codes.InvalidArgument, []string{"name"}},
		{"delete bad name", func() error {
			_, err := h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: ""})
			return err
		}, codes.InvalidArgument, []string{"name"}},
		{"delete stale etag", func() error {
			_, err := h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: hr.Name, Etag: "0"})
			return err
		}, codes.Aborted, nil},
		{"list negative page size", func() error {
			_, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageSize: -1})
			return err
		}, codes.InvalidArgument, []string{"page_size"}},
		{"list bad postcode", func() error {
			_, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{Postcode: "zzz 9"})
			return err
		}, codes.InvalidArgument, []string{"postcode"}},
		{"list unknown state", func() error {
			_, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{State: 77})
			return err
		}, codes.InvalidArgument, []string{"state"}},
		{"list bad organisation and phone", func() error {
			_, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{Organisation: "A B", RequesterPhone: "call me"})
			return err
		}, codes.InvalidArgument, []string{"organisation", "requester_phone"}},
		{"list garbage token", func() error {
			_, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{PageToken: "!!!"})
			return err
		}, codes.InvalidArgument, []string{"page_token"}},
		{"list volunteers bad skill", func() error {
			_, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{Skill: "first aid"})
			return err
		}, codes.InvalidArgument, []string{"skill"}},
		{"update without resource", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{})
			return err
		}, codes.InvalidArgument, []string{"help_request"}},
		{"update output-only state", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, State: pb.HelpRequest_STATE_FULFILLED},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details", "state"}},
			})
			return err
		}, codes.InvalidArgument, []string{"update_mask.paths[1]"}},
		{"update immutable organisation", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Organisation: "other-org"},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"organisation"}},
			})
			return err
		}, codes.InvalidArgument, []string{"update_mask.paths[0]"}},
		{"update unknown path", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"colour"}},
			})
			return err
		}, codes.InvalidArgument, []string{"update_mask.paths[0]"}},
		{"update with nothing to change", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: hr.Name}})
			return err
		}, codes.InvalidArgument, []string{"update_mask"}},
		{"update bad value", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Requester: &pb.Contact{Phone: "none"}},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"requester.phone"}},
			})
			return err
		}, codes.InvalidArgument, []string{"help_request.requester.phone"}},
		{"update clearing the needs", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"needs"}},
			})
			return err
		}, codes.InvalidArgument, []string{"help_request.needs"}},
		{"update stale etag", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "x", Etag: "0"},
			})
			return err
		}, codes.Aborted, nil},
		{"update missing", func() error {
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: &pb.HelpRequest{Name: missing, Details: "x"}})
			return err
		}, codes.NotFound, nil},
		{"update volunteer to an unknown postcode", func() error {
			_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer:  &pb.Volunteer{Name: vol.Name, Home: &pb.Location{Postcode: "SW1A 1AA"}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"home.postcode"}},
			})
			return err
		}, codes.InvalidArgument, []string{"volunteer.home.postcode"}},
		{"update volunteer capacity", func() error {
			_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: vol.Name, Capacity: 99}})
			return err
		}, codes.InvalidArgument, []string{"volunteer.capacity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, fields := errorOf(t, tt.call())
			if code != tt.code || !slices.Equal(fields, tt.fields) {
				t.Errorf("got %v %v, want %v %v", code, fields, tt.code, tt.fields)
			}
		})
	}
	// None of the failed updates changed anything.
	got, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
	if err != nil || !proto.Equal(got.HelpRequest, hr) {
		t.Errorf("request changed by rejected calls:\n got %v\nwant %v", got, hr)
	}
	gotVol, err := h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: vol.Name})
	if err != nil || !proto.Equal(gotVol.Volunteer, vol) {
		t.Errorf("volunteer changed by rejected calls: %v", gotVol)
	}
}
