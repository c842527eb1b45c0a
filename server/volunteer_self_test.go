package server_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestCoordinatorHold: a coordinator's hold takes a volunteer out of
// matching, as a pause does, but the volunteer's own token can neither
// lift it nor resume past it, and every change of it is on record.
func TestCoordinatorHold(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
	hr := h.createHR(shopping())
	h.offer(hr.Name, v.Name)
	self := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "callum", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: v.Name})))
	setHeld := func(c pb.VolunteerServiceClient, held bool) error {
		_, err := c.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer: &pb.Volunteer{Name: v.Name, Held: held}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"held"}},
		})
		return err
	}
	if err := setHeld(h.vol, true); err != nil {
		t.Fatal(err)
	}
	if got := h.getVol(v.Name); !got.Held || got.PendingOffers != 0 {
		t.Fatalf("held: held %v, %d pending offers; want the offer withdrawn", got.Held, got.PendingOffers)
	}
	candidates := func() int {
		t.Helper()
		res, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Candidates)
	}
	if n := candidates(); n != 0 {
		t.Fatalf("a held volunteer is a candidate (%d)", n)
	}
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: v.Name})
	// The rules turn them away before the store would.
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonNotEligible)

	// Their own token: lifting the hold, or sending the record back whole
	// without it, is refused; a resume changes nothing that matters.
	wantFailure(t, setHeld(self, false), codes.PermissionDenied, server.ReasonPermissionDenied)
	whole := h.getVol(v.Name)
	whole.Held = false
	_, err = self.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: whole, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}}})
	wantFailure(t, err, codes.PermissionDenied, server.ReasonPermissionDenied)
	if _, err := self.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer: &pb.Volunteer{Name: v.Name, Paused: false}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := h.getVol(v.Name); !got.Held || candidates() != 0 {
		t.Fatalf("after their own resume: held %v, %d candidates", got.Held, candidates())
	}

	// Helpline staff may hold, but the coordinator lifts it.
	lineSecret := h.newToken(h.st, &pb.Token{DisplayName: "line", Role: pb.Role_ROLE_HELPLINE, Organisation: "aberdeen-mutual-aid"})
	line := pb.NewVolunteerServiceClient(h.as(lineSecret))
	wantFailure(t, setHeld(line, false), codes.PermissionDenied, server.ReasonPermissionDenied)

	// A volunteer cannot put themselves on hold either: that is a pause.
	if err := setHeld(h.vol, false); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, setHeld(self, true), codes.PermissionDenied, server.ReasonPermissionDenied)
	if n := candidates(); n != 1 {
		t.Fatalf("after the hold is lifted: %d candidates, want 1", n)
	}
	h.reopen()
	if n := candidates(); n != 1 {
		t.Fatalf("after a restart: %d candidates, want 1", n)
	}
	if err := setHeld(pb.NewVolunteerServiceClient(h.as(lineSecret)), true); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if n := candidates(); n != 0 {
		t.Fatalf("held, after a restart: %d candidates, want 0", n)
	}

	if held := holdRecords(t, h, v.Name); held != 3 {
		t.Errorf("%d changes of the hold on record, want 3 (on, off, on)", held)
	}
}

// TestVolunteerCannotClaimVouchedSkill: a skill a need requires (driver,
// for lifts) is the organisation's to vouch for, as vetting is.
func TestVolunteerCannotClaimVouchedSkill(t *testing.T) {
	tests := []struct {
		name   string
		role   pb.Role
		before []string
		after  []string
		want   codes.Code
	}{
		{"volunteer adds driver", pb.Role_ROLE_VOLUNTEER, []string{"welsh"}, []string{"welsh", "driver"}, codes.PermissionDenied},
		{"volunteer adds Driver, spelt otherwise", pb.Role_ROLE_VOLUNTEER, nil, []string{"Driver"}, codes.PermissionDenied},
		{"volunteer adds another skill", pb.Role_ROLE_VOLUNTEER, []string{"driver"}, []string{"driver", "welsh"}, codes.OK},
		{"volunteer gives up driving", pb.Role_ROLE_VOLUNTEER, []string{"driver", "welsh"}, []string{"welsh"}, codes.OK},
		{"coordinator adds driver", pb.Role_ROLE_COORDINATOR, nil, []string{"driver"}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			v := h.createVol(matchVolunteer("Callum", "AB10 1AF", func(v *pb.Volunteer) { v.Skills = tt.before }))
			tok := &pb.Token{DisplayName: "t", Role: tt.role, Organisation: "aberdeen-mutual-aid"}
			if tt.role == pb.Role_ROLE_VOLUNTEER {
				tok = &pb.Token{DisplayName: "t", Role: tt.role, Volunteer: v.Name}
			}
			c := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, tok)))
			_, err := c.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
				Volunteer: &pb.Volunteer{Name: v.Name, Skills: tt.after}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"skills"}},
			})
			if status.Code(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			got := h.getVol(v.Name).Skills
			if tt.want != codes.OK && !slices.Equal(got, v.Skills) {
				t.Errorf("refused, yet the skills are now %v (were %v)", got, v.Skills)
			}
		})
	}
}

// TestAwayOverAnAssignment: away dates that leave no day to do a job the
// volunteer is assigned are refused, naming it, until they hand it back.
func TestAwayOverAnAssignment(t *testing.T) {
	london := londonZone(t)
	y, m, d := time.Now().In(london).AddDate(0, 0, 2).Date()
	day := func(n int) *pb.Date {
		t := time.Date(y, m, d+n, 12, 0, 0, 0, london)
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	// The job: from 10:00 on day 0 to 14:00 on day 1.
	window := &pb.TimeWindow{
		StartTime: timestamppb.New(time.Date(y, m, d, 10, 0, 0, 0, london)),
		EndTime:   timestamppb.New(time.Date(y, m, d+1, 14, 0, 0, 0, london)),
	}
	tests := []struct {
		name     string
		from, to int // days, as day
		want     codes.Code
	}{
		{"away both days", 0, 1, codes.FailedPrecondition},
		{"away from the day before to the day after", -1, 2, codes.FailedPrecondition},
		{"away the first day only", 0, 0, codes.OK},
		{"away the second day only", 1, 1, codes.OK},
		{"away the week after", 3, 9, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			v := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
			hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.Timing = &pb.HelpRequest_Window{Window: window} }))
			off := h.offer(hr.Name, v.Name)
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
				t.Fatal(err)
			}
			self := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "callum", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: v.Name})))
			before := h.getVol(v.Name)
			goAway := func() error {
				av := h.getVol(v.Name).Availability
				av.Away = []*pb.DateRange{{StartDate: day(tt.from), EndDate: day(tt.to)}}
				_, err := self.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
					Volunteer: &pb.Volunteer{Name: v.Name, Availability: av}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"availability"}},
				})
				return err
			}
			err := goAway()
			if status.Code(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == codes.OK {
				return
			}
			code, reason, _ := errorOf(t, err)
			if code != codes.FailedPrecondition || reason != server.ReasonHasCommitments {
				t.Errorf("got %v %s, want FAILED_PRECONDITION %s", code, reason, server.ReasonHasCommitments)
			}
			if got := h.getVol(v.Name); got.Etag != before.Etag {
				t.Errorf("refused, yet the volunteer changed: %v", got.Availability)
			}
			// Handed back, the job is open to others, and they may go.
			if _, err := h.match.ReleaseHelpRequest(h.ctx, &pb.ReleaseHelpRequestRequest{Name: hr.Name}); err != nil {
				t.Fatal(err)
			}
			if err := goAway(); err != nil {
				t.Errorf("after handing the job back: %v", err)
			}
		})
	}
}

// TestAwayAlreadyOverAnAssignment: dates away that already left no day
// for a job (a day has passed since it was taken, on the eve of a trip
// booked before) are not this edit's doing: the volunteer may still
// shorten that trip, or book another, without first handing the job back.
func TestAwayAlreadyOverAnAssignment(t *testing.T) {
	london := londonZone(t)
	y, m, d := time.Now().In(london).AddDate(0, 0, 1).Date()
	clock := &testClock{t: time.Date(y, m, d, 9, 0, 0, 0, london)}
	h := newHarnessWithClock(t, clock)
	day := func(n int) *pb.Date {
		t := time.Date(y, m, d+n, 12, 0, 0, 0, london)
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	trip := func(from, to int) *pb.DateRange { return &pb.DateRange{StartDate: day(from), EndDate: day(to)} }
	// Away from tomorrow; free today, when they take a job due by noon on
	// day 3.
	v := h.createVol(matchVolunteer("Callum", "AB10 1AF", func(v *pb.Volunteer) { v.Availability.Away = []*pb.DateRange{trip(1, 4)} }))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Date(y, m, d+3, 12, 0, 0, 0, london))}
	}))
	off := h.offer(hr.Name, v.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	clock.advance(24 * time.Hour) // every day left for the job is now away
	self := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "callum", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: v.Name})))
	setAway := func(away ...*pb.DateRange) error {
		av := h.getVol(v.Name).Availability
		av.Away = away
		_, err := self.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer: &pb.Volunteer{Name: v.Name, Availability: av}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"availability"}},
		})
		return err
	}
	if err := setAway(trip(1, 3)); err != nil {
		t.Errorf("shortening the trip: %v", err)
	}
	if err := setAway(trip(1, 3), trip(20, 21)); err != nil {
		t.Errorf("booking another trip, weeks later: %v", err)
	}
	// Coming home on day 3 leaves a morning for it; going away again then
	// is refused.
	if err := setAway(trip(1, 2), trip(20, 21)); err != nil {
		t.Fatalf("coming home on day 3: %v", err)
	}
	wantFailure(t, setAway(trip(1, 3), trip(20, 21)), codes.FailedPrecondition, server.ReasonHasCommitments)
}

// TestHoldOnRecordOnlyWhenItChanges: the audit log's changes of a hold
// are the hold's changes; an edit of the whole record ("*") that leaves
// it as it was puts none on record, and one that lifts it does.
func TestHoldOnRecordOnlyWhenItChanges(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
	holds := func() int { return holdRecords(t, h, v.Name) }
	replace := func(edit func(*pb.Volunteer)) {
		t.Helper()
		whole := h.getVol(v.Name)
		edit(whole)
		if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: whole, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}}}); err != nil {
			t.Fatal(err)
		}
	}
	replace(func(w *pb.Volunteer) { w.Capacity = 2 })
	if n := holds(); n != 0 {
		t.Errorf("after a whole-record edit of the capacity: %d changes of the hold on record, want 0", n)
	}
	replace(func(w *pb.Volunteer) { w.Held = true })
	replace(func(w *pb.Volunteer) { w.Capacity = 3 })
	replace(func(w *pb.Volunteer) { w.Held = false })
	if n := holds(); n != 2 {
		t.Errorf("after holding, editing and lifting: %d changes of the hold on record, want 2", n)
	}
}

// TestNewTimeZoneMovesAwayOverAJob: the same dates away, in a new time
// zone, can take in the only day left for a job; that is refused as new
// dates would be.
func TestNewTimeZoneMovesAwayOverAJob(t *testing.T) {
	h := newHarness(t)
	london := londonZone(t)
	y, m, d := time.Now().In(london).AddDate(0, 0, 3).Date()
	away := &pb.Date{Year: int32(y), Month: int32(m), Day: int32(d)}
	// 01:00-03:00 UTC the next day: that day in London, the day away in
	// New York (20:00-22:00, or 21:00-23:00 in summer).
	start := time.Date(y, m, d+1, 1, 0, 0, 0, time.UTC)
	v := h.createVol(matchVolunteer("Callum", "AB10 1AF", func(v *pb.Volunteer) {
		v.Availability.Away = []*pb.DateRange{{StartDate: away, EndDate: away}}
	}))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(2 * time.Hour))}}
	}))
	off := h.offer(hr.Name, v.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
		t.Fatal(err)
	}
	av := h.getVol(v.Name).Availability
	av.TimeZone = "America/New_York"
	_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer: &pb.Volunteer{Name: v.Name, Availability: av}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"availability"}},
	})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonHasCommitments)
}

// TestHoldAtCreateOnRecord: a volunteer registered already on hold (a
// concern known when they sign up) has that hold on record, as a hold set
// later has, so that its lifting is not the only trace of it; one
// registered without a hold has none.
func TestHoldAtCreateOnRecord(t *testing.T) {
	h := newHarness(t)
	holds := func(name string) int { return holdRecords(t, h, name) }
	held := h.createVol(matchVolunteer("Callum", "AB10 1AF", func(v *pb.Volunteer) { v.Held = true }))
	if !held.Held {
		t.Fatal("created on hold, yet not held")
	}
	if n := holds(held.Name); n != 1 {
		t.Errorf("created on hold: %d records of the hold, want 1", n)
	}
	free := h.createVol(matchVolunteer("Moira", "AB10 1AF"))
	if n := holds(free.Name); n != 0 {
		t.Errorf("created without a hold: %d records of the hold, want 0", n)
	}
}

// TestJobMovedOntoTheVolunteersDaysAway: the refusal of dates away over a
// job the volunteer is assigned holds from the other side too: an edit
// moving the job (its window, or its deadline) onto days they are away
// throughout is refused, as one bringing it to a time their other jobs
// fill is; a move to a day they are home stands.
func TestJobMovedOntoTheVolunteersDaysAway(t *testing.T) {
	london := londonZone(t)
	y, m, d := time.Now().In(london).AddDate(0, 0, 2).Date()
	at := func(day, hour int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(y, m, d+day, hour, 0, 0, 0, london))
	}
	date := func(day int) *pb.Date {
		t := time.Date(y, m, d+day, 12, 0, 0, 0, london)
		return &pb.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	away := func(from, to int) func(*pb.Volunteer) {
		return func(v *pb.Volunteer) {
			v.Availability.Away = []*pb.DateRange{{StartDate: date(from), EndDate: date(to)}}
		}
	}
	deadline := func(day int) func(*pb.HelpRequest) {
		return func(r *pb.HelpRequest) { r.Timing = &pb.HelpRequest_Deadline{Deadline: at(day, 12)} }
	}
	window := func(from, to int) func(*pb.HelpRequest) {
		return func(r *pb.HelpRequest) {
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: at(from, 10), EndTime: at(to, 12)}}
		}
	}
	// Days count from two days from now: -2 is today.
	tests := []struct {
		name       string
		away       func(*pb.Volunteer)
		job, moved func(*pb.HelpRequest)
		path       string
		want       codes.Code
	}{
		{"window onto their days away", away(5, 9), window(0, 0), window(6, 7), "window", codes.FailedPrecondition},
		{"window to a day they are home", away(5, 9), window(0, 0), window(1, 1), "window", codes.OK},
		{"window reaching past their return", away(5, 9), window(0, 0), window(8, 10), "window", codes.OK},
		{"deadline to a window on their days away", away(5, 9), deadline(3), window(5, 5), "window", codes.FailedPrecondition},
		// Away from today to day 3, home on days 4 to 6 to do it.
		{"deadline brought into their days away", away(-2, 3), deadline(6), deadline(2), "deadline", codes.FailedPrecondition},
		{"deadline kept past their return", away(-2, 3), deadline(6), deadline(5), "deadline", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			v := h.createVol(matchVolunteer("Callum", "AB10 1AF", tt.away))
			hr := h.createHR(shopping(tt.job))
			off := h.offer(hr.Name, v.Name)
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: off.Name}); err != nil {
				t.Fatal(err)
			}
			before := h.getHR(hr.Name)
			edit := &pb.HelpRequest{Name: hr.Name}
			tt.moved(edit)
			_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: edit, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{tt.path}},
			})
			if status.Code(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == codes.OK {
				return
			}
			code, _, _ := errorOf(t, err)
			if code != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "away") {
				t.Errorf("refused as %v %q, want FAILED_PRECONDITION saying they are away", code, status.Convert(err).Message())
			}
			if got := h.getHR(hr.Name); got.Etag != before.Etag {
				t.Errorf("refused, yet the request changed: %v", got)
			}
		})
	}
}

// londonZone is the UK's time zone, in which the tests' dates away fall.
func londonZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// holdRecords counts the audit records of volunteer name that put a
// change of their hold on record.
func holdRecords(t *testing.T, h *harness, name string) int {
	t.Helper()
	recs, _, err := h.st.ListAuditRecords(h.ctx, store.AuditFilter{Resource: name}, store.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if slices.Contains(r.Fields, "held") {
			n++
		}
	}
	return n
}
