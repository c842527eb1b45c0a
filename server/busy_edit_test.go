package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestEditOfAssignedRefusedWhenItsVolunteerIsBusy: Ann is assigned an
// hour's errand on Union Street at 10:00-11:00 tomorrow and another on
// Crown Street at 14:00-15:00. Moving the second to 10:00-11:00 would have
// her at two places at once: an assignment has no offer to withdraw, so
// the edit is refused and changes nothing. Moved to 11:00-12:00 it
// stands; the first widened to 10:00-12:00 still leaves her an hour for
// each, but not once it becomes a two-hour lift. An edit of anything else
// stands.
func TestEditOfAssignedRefusedWhenItsVolunteerIsBusy(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	at := func(from, to time.Duration) *pb.HelpRequest_Window {
		return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(to))}}
	}
	errand := func(street, phone string, from time.Duration) *pb.HelpRequest {
		return h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street}
			r.Requester.Phone = phone
			r.Timing = at(from, from+time.Hour)
		}))
	}
	first := errand("Union Street", "01224 700001", 10*time.Hour)
	second := errand("Crown Street", "01224 700002", 14*time.Hour)
	h.invAssign(first.Name, ann.Name)
	h.invAssign(second.Name, ann.Name)
	edit := func(r *pb.HelpRequest, paths ...string) error {
		_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		return err
	}
	before := h.getHR(second.Name)
	err := edit(&pb.HelpRequest{Name: second.Name, Timing: at(10*time.Hour, 11*time.Hour)}, "window")
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	// Staff must know which of her jobs it clashes with, to move one.
	if got := errorMetadata(err)["clashes_with"]; got != first.Name {
		t.Errorf("clashes_with %q, want %s: %v", got, first.Name, err)
	}
	if !strings.Contains(status.Convert(err).Message(), first.Name) {
		t.Errorf("the refusal does not name the job it clashes with: %v", err)
	}
	// A partner's token reads no other request of hers: another group's,
	// perhaps. It is told only that she is busy.
	partner := pb.NewHelpRequestServiceClient(h.as(h.principals(ann.Name)[pb.Role_ROLE_PARTNER]))
	_, err = partner.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: second.Name, Timing: at(10*time.Hour, 11*time.Hour)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if md := errorMetadata(err); md["clashes_with"] != "" || strings.Contains(status.Convert(err).Message(), first.Name) {
		t.Errorf("a partner was told which other request she holds: %v %v", err, md)
	}
	if got := h.getHR(second.Name); got.Etag != before.Etag {
		t.Errorf("the refused edit changed the request: %v", got.GetWindow())
	}
	if err := edit(&pb.HelpRequest{Name: second.Name, Timing: at(11*time.Hour, 12*time.Hour)}, "window"); err != nil {
		t.Fatalf("moving the second to 11:00-12:00, when Ann is free: %v", err)
	}
	if err := edit(&pb.HelpRequest{Name: first.Name, Timing: at(10*time.Hour, 12*time.Hour)}, "window"); err != nil {
		t.Fatalf("widening the first to 10:00-12:00: %v", err)
	}
	err = edit(&pb.HelpRequest{Name: first.Name, Needs: []pb.Need{pb.Need_NEED_TRANSPORT}}, "needs")
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if err := edit(&pb.HelpRequest{Name: second.Name, Details: "and a newspaper"}, "details"); err != nil {
		t.Errorf("a new detail: %v", err)
	}
	if v := h.getVol(ann.Name); v.ActiveAssignments != 2 || len(v.Commitments) != 2 {
		t.Errorf("Ann: %d assignments, commitments %v", v.ActiveAssignments, v.Commitments)
	}
}

// TestBusyEditNamesOnlyJobsInTheWay: Ann holds a job she may do any time
// this morning (09:00-12:00) on Union Street, one at 10:00-11:00 on Crown
// Street, and one at 14:00-15:00 on Holburn Street. Moving the last to
// 10:00-11:00 clashes with the Crown Street job alone: the morning's job
// meets the new window but fits around both, and moving or cancelling it
// (a caller's visit) would leave the edit refused all the same. The
// refusal names only the job in the way. Moved to 10:00-12:00 with a
// 10:00-11:00 and an 11:00-12:00 job held, either one in the way: both are
// named, as jobs of which one is to move.
func TestBusyEditNamesOnlyJobsInTheWay(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 5 }))
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	at := func(from, to time.Duration) *pb.HelpRequest_Window {
		return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(to))}}
	}
	errand := func(street, phone string, from, to time.Duration) *pb.HelpRequest {
		hr := h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
			r.Location = &pb.Location{Postcode: "AB10 1AB", Street: street}
			r.Requester.Phone = phone
			r.Timing = at(from, to)
		}))
		h.invAssign(hr.Name, ann.Name)
		return hr
	}
	morning := errand("Union Street", "01224 700001", 9*time.Hour, 12*time.Hour)
	crown := errand("Crown Street", "01224 700002", 10*time.Hour, 11*time.Hour)
	later := errand("Holburn Street", "01224 700003", 14*time.Hour, 15*time.Hour)
	_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: later.Name, Timing: at(10*time.Hour, 11*time.Hour)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if got := errorMetadata(err)["clashes_with"]; got != crown.Name {
		t.Errorf("clashes_with %q, want only %s (the morning's job fits around both): %v", got, crown.Name, err)
	}
	if msg := status.Convert(err).Message(); strings.Contains(msg, morning.Name) {
		t.Errorf("the refusal tells staff to move the morning's job, which is not in the way: %v", msg)
	}

	// Two jobs each in the way: named together, in words for several.
	eleven := errand("Rose Street", "01224 700004", 11*time.Hour, 12*time.Hour)
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: later.Name, Timing: at(10*time.Hour, 12*time.Hour)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if got := errorMetadata(err)["clashes_with"]; got != crown.Name+","+eleven.Name {
		t.Errorf("clashes_with %q, want %s,%s: %v", got, crown.Name, eleven.Name, err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "one of their others (") || strings.Contains(msg, morning.Name) {
		t.Errorf("the refusal of two jobs each in the way: %v", msg)
	}

	// Neither alone in the way: 09:30-10:30 and 10:30-11:30 leave no hour
	// at 10:00-11:00 with either there. Both are named, as both to move.
	h2 := newHarness(t)
	h, ann = h2, h2.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 5 }))
	early := errand("Union Street", "01224 700001", 9*time.Hour+30*time.Minute, 10*time.Hour+30*time.Minute)
	late := errand("Crown Street", "01224 700002", 10*time.Hour+30*time.Minute, 11*time.Hour+30*time.Minute)
	moved := errand("Holburn Street", "01224 700003", 14*time.Hour, 15*time.Hour)
	_, err = h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: moved.Name, Timing: at(10*time.Hour, 11*time.Hour)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	if got := errorMetadata(err)["clashes_with"]; got != early.Name+","+late.Name {
		t.Errorf("clashes_with %q, want %s,%s: %v", got, early.Name, late.Name, err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "some of their others (") {
		t.Errorf("the refusal of two jobs together in the way: %v", msg)
	}
}
