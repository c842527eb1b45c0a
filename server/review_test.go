package server_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// An edit to a request or its volunteer while an offer waits may make the
// offer one the rules would never have made. The edit withdraws it then,
// and the request is open to others at once; otherwise it stands.
func TestEditWithdrawsOffersItMakesImpossible(t *testing.T) {
	onlyMondays := func(v *pb.Volunteer) {
		v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_MONDAY, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}}}
	}
	monday := nextWeekday(time.Monday)
	onMonday := func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(10 * time.Hour)), EndTime: timestamppb.New(monday.Add(12 * time.Hour))}}
	}
	type edit struct {
		hr   *pb.HelpRequest // fields of the request to change
		vol  *pb.Volunteer   // or of the volunteer
		mask []string
	}
	cases := []struct {
		name      string
		edit      edit
		withdrawn string // the rule it breaks (withdraw_reason), or "" for an offer that stands
	}{
		{"request now needs a lift", edit{hr: &pb.HelpRequest{Needs: []pb.Need{pb.Need_NEED_TRANSPORT}}, mask: []string{"needs"}}, "MISSING_SKILL"},
		{"request now needs a skill", edit{hr: &pb.HelpRequest{RequiredSkills: []string{"BSL"}}, mask: []string{"required_skills"}}, "MISSING_SKILL"},
		{"request moves across the city", edit{hr: &pb.HelpRequest{Location: &pb.Location{Postcode: "AB15 4AA"}}, mask: []string{"location"}}, "TOO_FAR"},
		{"request moves to a Tuesday", edit{hr: &pb.HelpRequest{Timing: &pb.HelpRequest_Window{Window: &pb.TimeWindow{
			StartTime: timestamppb.New(monday.Add(34 * time.Hour)), EndTime: timestamppb.New(monday.Add(36 * time.Hour))}}}, mask: []string{"window"}}, "NOT_AVAILABLE"},
		{"request's details change", edit{hr: &pb.HelpRequest{Details: "Semi-skimmed milk, not whole"}, mask: []string{"details"}}, ""},
		{"request becomes urgent", edit{hr: &pb.HelpRequest{Urgency: pb.Urgency_URGENCY_HIGH}, mask: []string{"urgency"}}, ""},
		{"volunteer pauses", edit{vol: &pb.Volunteer{Paused: true}, mask: []string{"paused"}}, "PAUSED"},
		{"volunteer is free only on Tuesdays now", edit{vol: &pb.Volunteer{Availability: &pb.Availability{Weekly: []*pb.AvailabilitySlot{
			{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}}}}}, mask: []string{"availability"}}, "NOT_AVAILABLE"},
		{"volunteer travels less far", edit{vol: &pb.Volunteer{MaxDistanceMetres: 100}, mask: []string{"max_distance_metres"}}, "TOO_FAR"},
		// At capacity 1 the offer fills it: that is no reason to withdraw it.
		{"volunteer's phone changes", edit{vol: &pb.Volunteer{Contact: &pb.Contact{DisplayName: "Ann", Phone: "07700 900999"}}, mask: []string{"contact"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ann := h.createVol(matchVolunteer("Ann", "AB11 5QN", onlyMondays))
			hr := h.createHR(shopping(onMonday))
			o := h.offer(hr.Name, ann.Name)
			if tc.edit.hr != nil {
				in := tc.edit.hr
				in.Name = hr.Name
				resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.edit.mask}})
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.HelpRequest; got.Etag != h.getHR(hr.Name).Etag || got.State != h.getHR(hr.Name).State {
					t.Errorf("the edit answered state %v etag %s; stored: %v %s", got.State, got.Etag, h.getHR(hr.Name).State, h.getHR(hr.Name).Etag)
				}
			} else {
				in := tc.edit.vol
				in.Name = ann.Name
				resp, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: tc.edit.mask}})
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.Volunteer; got.Etag != h.getVol(ann.Name).Etag || got.PendingOffers != h.getVol(ann.Name).PendingOffers {
					t.Errorf("the edit answered %d pending etag %s; stored: %d %s", got.PendingOffers, got.Etag, h.getVol(ann.Name).PendingOffers, h.getVol(ann.Name).Etag)
				}
			}
			got, vol := h.getHR(hr.Name), h.getVol(ann.Name)
			off, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o.Name})
			if err != nil {
				t.Fatal(err)
			}
			if tc.withdrawn == "" {
				if got.State != pb.HelpRequest_STATE_OFFERED || off.Offer.State != pb.Offer_STATE_PENDING || vol.PendingOffers != 1 {
					t.Fatalf("request %v, offer %v, %d pending: want the offer to stand", got.State, off.Offer.State, vol.PendingOffers)
				}
				if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
					t.Fatalf("accept of the offer that stands: %v", err)
				}
				return
			}
			if got.State != pb.HelpRequest_STATE_OPEN || got.Offer != "" || off.Offer.State != pb.Offer_STATE_WITHDRAWN || vol.PendingOffers != 0 {
				t.Fatalf("request %v (offer %q), offer %v, %d pending: want it withdrawn and the request open", got.State, got.Offer, off.Offer.State, vol.PendingOffers)
			}
			if off.Offer.WithdrawReason != tc.withdrawn {
				t.Errorf("withdraw_reason %q, want %q: the volunteer's app cannot say why", off.Offer.WithdrawReason, tc.withdrawn)
			}
			if len(got.DeclinedVolunteers) != 0 {
				t.Errorf("declined volunteers %v: a withdrawal is not the volunteer's refusal", got.DeclinedVolunteers)
			}
			_, err = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
			if code, _, _ := errorOf(t, err); code != codes.FailedPrecondition {
				t.Errorf("accept of the withdrawn offer: %v", err)
			}
			// The engine's view of Ann's capacity follows: another
			// request she suits finds her.
			other := h.createHR(shopping(onMonday, func(r *pb.HelpRequest) { r.Requester.Phone = "01224 765432" }))
			fc, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: other.Name})
			if err != nil {
				t.Fatal(err)
			}
			if vol.Paused || vol.MaxDistanceMetres == 100 || len(vol.Availability.GetWeekly()) == 1 && vol.Availability.Weekly[0].Day != pb.DayOfWeek_DAY_OF_WEEK_MONDAY {
				return
			}
			if len(fc.Candidates) != 1 {
				t.Errorf("after the withdrawal, %d candidates for a request Ann suits (%s): the index still counts her offer", len(fc.Candidates), fc.Summary)
			}
		})
	}
}

// nextWeekday is midnight UTC (London in winter) at the start of the next
// such day at least two days off.
func nextWeekday(d time.Weekday) time.Time {
	t := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	for t.Weekday() != d {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// needsADriverInStore makes the request need a driver by a write straight
// to the store, as another process's would: no review runs.
func (h *harness) needsADriverInStore(name string) {
	h.t.Helper()
	stored, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(name, "helpRequests/"))
	if err != nil {
		h.t.Fatal(err)
	}
	stored.Needs, stored.EntersHome = []pb.Need{pb.Need_NEED_TRANSPORT}, true
	if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
		h.t.Fatal(err)
	}
}

// An edit that reaches the store by another way than the API (here the
// store itself, as another process's write would) is caught at the accept:
// the offer is withdrawn and the accept refused with the rule that fails.
func TestAcceptReviewsTheOffer(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, ann.Name)
	h.needsADriverInStore(hr.Name)
	_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
	code, reason, _ := errorOf(t, err)
	if code != codes.FailedPrecondition || reason != "NOT_ELIGIBLE" {
		t.Fatalf("accept after the request came to need a driver: %v (%s), want NOT_ELIGIBLE", err, reason)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN || got.AssignedVolunteer != "" {
		t.Fatalf("request %v assigned to %q; want it open again", got.State, got.AssignedVolunteer)
	}
	if v := h.getVol(ann.Name); v.PendingOffers != 0 || v.ActiveAssignments != 0 {
		t.Fatalf("Ann holds %d offers, %d assignments", v.PendingOffers, v.ActiveAssignments)
	}
}

// An accept after the lease has passed fails as LEASE_EXPIRED, even when
// the review finds the volunteer no longer eligible too: the offer lapses
// (the volunteer is never offered it again), which is what happened.
func TestAcceptAfterTheLeaseOfAnOfferNowImpossible(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, ann.Name)
	h.needsADriverInStore(hr.Name)
	clock.advance(31 * time.Minute)
	_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonLeaseExpired)
	if got := h.getOffer(o.Name); got.State != pb.Offer_STATE_EXPIRED {
		t.Errorf("the offer is %v, want EXPIRED", got.State)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN || !slices.Contains(got.DeclinedVolunteers, ann.Name) {
		t.Errorf("the request is %v, declined %v; want open, Ann among the declined", got.State, got.DeclinedVolunteers)
	}
}

// A request past its deadline cannot be accepted, even before the sweep
// has marked it expired; the sweep then expires it and frees the volunteer.
func TestAcceptAfterTheRequestEnded(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(10 * time.Minute))}
	}))
	o := h.offer(hr.Name, ann.Name) // a 30-minute lease, past the deadline
	clock.advance(15 * time.Minute)
	_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
	if code, reason, _ := errorOf(t, err); code != codes.FailedPrecondition || reason != "REQUEST_ENDED" {
		t.Fatalf("accept after the deadline: %v (%s), want REQUEST_ENDED", err, reason)
	}
	h.srv.Sweep(h.ctx)
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_EXPIRED {
		t.Fatalf("after the sweep the request is %v, want EXPIRED", got.State)
	}
	if v := h.getVol(ann.Name); v.PendingOffers != 0 || v.ActiveAssignments != 0 {
		t.Fatalf("Ann holds %d offers, %d assignments", v.PendingOffers, v.ActiveAssignments)
	}
}

// The volunteer a request is offered or assigned to hears, on their own
// event stream, that it changed: their app shows its time and place.
func TestVolunteerHearsOfChangesToTheirRequest(t *testing.T) {
	for _, accept := range []bool{false, true} {
		h := newHarnessWithClock(t, nil, server.WithWatchTimings(20*time.Millisecond, time.Minute))
		ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
		bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
		hr := h.createHR(shopping())
		o := h.offer(hr.Name, ann.Name)
		if accept {
			if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name}); err != nil {
				t.Fatal(err)
			}
		}
		watchAs := func(vol string) *watcher {
			secret := h.newToken(h.st, &pb.Token{DisplayName: vol, Role: pb.Role_ROLE_VOLUNTEER, Volunteer: vol})
			return h.watch(pb.NewEventServiceClient(h.as(secret)), &pb.WatchEventsRequest{StartRevision: h.revision() + 1})
		}
		annW, bobW := watchAs(ann.Name), watchAs(bob.Name)
		if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
			HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Please ring the bell twice"},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
		}); err != nil {
			t.Fatal(err)
		}
		rev := h.revision()
		annW.waitFor(t, rev)
		bobW.waitFor(t, rev)
		evs, _ := annW.events()
		if len(evs) != 1 || evs[0].Type != pb.Event_TYPE_HELP_REQUEST_UPDATED || evs[0].Volunteer != ann.Name {
			t.Errorf("accepted %v: Ann's stream has %v, want the request's update", accept, eventKeys(evs))
		}
		if evs, _ := bobW.events(); len(evs) != 0 {
			t.Errorf("accepted %v: Bob's stream has %v, want nothing", accept, eventKeys(evs))
		}
	}
}

// A volunteer with room for two jobs is not sent to two places at once:
// a second request whose hour leaves no time beside the first finds them
// busy, for an offer by hand and for dispatch alike; one later that day
// does not.
func TestNotTwoPlacesAtOnce(t *testing.T) {
	tomorrow := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	hour := func(from time.Duration) *pb.HelpRequest_Window {
		return &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(from + time.Hour))}}
	}
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 3 }))
	first := h.createHR(shopping(func(r *pb.HelpRequest) { r.Timing = hour(0) }))
	elsewhere := func(from time.Duration, phone string) *pb.HelpRequest {
		return h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Timing = hour(from)
			r.Location = &pb.Location{Postcode: "AB11 5QN", Street: "Market Street", AddressLines: []string{"3 Market Street"}}
			r.Requester = &pb.Contact{DisplayName: "Someone Else", Phone: phone}
		}))
	}
	clash, later := elsewhere(0, "01224 654321"), elsewhere(3*time.Hour, "01224 654322")
	h.offer(first.Name, ann.Name)
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: clash.Name, Volunteer: ann.Name})
	if code, reason, _ := errorOf(t, err); code != codes.FailedPrecondition || reason != "NOT_ELIGIBLE" || !strings.Contains(err.Error(), "helping someone else then") {
		t.Fatalf("offer of a second job at the same hour elsewhere: %v", err)
	}
	fc, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: clash.Name})
	if err != nil || len(fc.Candidates) != 0 || fc.Summary != "1 is helping someone else then" {
		t.Fatalf("candidates %v, summary %q, %v", fc.GetCandidates(), fc.GetSummary(), err)
	}
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 1 {
		t.Fatalf("dispatch: %v %v", resp, err)
	}
	if got := h.getHR(later.Name); got.State != pb.HelpRequest_STATE_OFFERED {
		t.Errorf("the job three hours later is %v, want offered to Ann", got.State)
	}
	if got := h.getHR(clash.Name); got.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("the clashing job is %v, want open", got.State)
	}
	if v := h.getVol(ann.Name); len(v.Commitments) != 2 || v.PendingOffers != 2 {
		t.Errorf("Ann holds %d offers, commitments %v", v.PendingOffers, v.Commitments)
	}
}

// One door, one volunteer: a requester's two requests at meeting times go
// to one volunteer, or the second waits for them, in this run and later
// ones; never to a second volunteer.
func TestDispatchOneVolunteerPerDoor(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	h.createVol(matchVolunteer("Bob", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
	shop := h.createHR(shopping())
	pills := h.createHR(shopping(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION} }))
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 1 || resp.SameDoor != 1 || resp.Outnumbered != 0 {
		t.Fatalf("first run: %v %v", resp, err)
	}
	offered := shop
	if h.getHR(shop.Name).State != pb.HelpRequest_STATE_OFFERED {
		offered = pills
	}
	holder := h.getHR(offered.Name)
	o, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: holder.Offer})
	if err != nil {
		t.Fatal(err)
	}
	// The helpline, looking for someone for the other, is told who is
	// already going to that door.
	waiting := shop
	if waiting.Name == offered.Name {
		waiting = pills
	}
	fc, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: waiting.Name})
	if err != nil || fc.VolunteerComing != o.Offer.Volunteer {
		t.Fatalf("candidates for the other request: volunteer coming %q (%v), want %s", fc.GetVolunteerComing(), err, o.Offer.Volunteer)
	}
	// The second run keeps the other for the same volunteer, who has no
	// room: Bob, free, is not sent.
	resp, err = h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 0 || resp.SameDoor != 1 {
		t.Fatalf("second run: %v %v", resp, err)
	}
	// With room, they take it.
	if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: o.Offer.Volunteer, Capacity: 2},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err = h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 1 {
		t.Fatalf("third run: %v %v", resp, err)
	}
	if v := h.getVol(o.Offer.Volunteer); v.PendingOffers != 2 {
		t.Errorf("%s holds %d offers, want both requests'", o.Offer.Volunteer, v.PendingOffers)
	}
}

// TestOfferByHandOneVolunteerPerDoor: an offer made by hand that would send
// a second volunteer to a caller's door at a meeting time is refused with
// SAME_DOOR, naming the volunteer going, and changes nothing; the
// helpline can offer it to that volunteer, or, with the caller's
// agreement, say allow_second_volunteer. A retry with the same request_id
// must say the same thing about a second volunteer.
func TestOfferByHandOneVolunteerPerDoor(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 2 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
	shop := h.createHR(shopping())
	pills := h.createHR(shopping(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION} }))
	h.offer(shop.Name, ann.Name)

	before := h.getHR(pills.Name)
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: pills.Name, Volunteer: bob.Name})
	wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
	var coming string
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			coming = info.Metadata["volunteer_coming"]
		}
	}
	if coming != ann.Name {
		t.Errorf("SAME_DOOR names %q as coming, want %s", coming, ann.Name)
	}
	if after := h.getHR(pills.Name); after.State != pb.HelpRequest_STATE_OPEN || after.Etag != before.Etag {
		t.Errorf("the refusal changed the request: %v", after)
	}
	if v := h.getVol(bob.Name); v.PendingOffers != 0 {
		t.Errorf("Bob holds %d offers after the refusal", v.PendingOffers)
	}

	const rid = "6f1c1a52-3f0e-4c41-9c55-0b5f1c1e2a10"
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: pills.Name, Volunteer: bob.Name, AllowSecondVolunteer: true, RequestId: rid}); err != nil {
		t.Fatalf("offer with allow_second_volunteer: %v", err)
	}
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: pills.Name, Volunteer: bob.Name, RequestId: rid})
	wantFailure(t, err, codes.InvalidArgument, server.ReasonRequestIDReused)
}

// The answer to an edit that withdrew an offer is the record as stored:
// the withdrawn request is no longer among the volunteer's commitments.
func TestEditAnswersTheRecordAsStored(t *testing.T) {
	monday := nextWeekday(time.Monday)
	onMonday := func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(10 * time.Hour)), EndTime: timestamppb.New(monday.Add(12 * time.Hour))}}
	}
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB11 5QN"))
	hr := h.createHR(shopping(onMonday))
	h.offer(hr.Name, ann.Name)
	if n := len(h.getVol(ann.Name).Commitments); n != 1 {
		t.Fatalf("%d commitments before", n)
	}
	resp, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: &pb.Volunteer{Name: ann.Name, Paused: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}}})
	if err != nil {
		t.Fatal(err)
	}
	stored := h.getVol(ann.Name)
	if len(resp.Volunteer.Commitments) != len(stored.Commitments) {
		t.Fatalf("answer has %d commitments (pending %d, etag %s); stored %d (pending %d, etag %s)",
			len(resp.Volunteer.Commitments), resp.Volunteer.PendingOffers, resp.Volunteer.Etag, len(stored.Commitments), stored.PendingOffers, stored.Etag)
	}
}

// An accept that lands between an edit's store write and the index
// learning of it (UpdateVolunteer: store, then track, then review) is
// judged again on the records as the accept's own transaction reads
// them: refused, and the offer withdrawn. The edit's store write is made
// alone here, as it would be seen in that moment.
func TestAcceptJudgesTheRecordsAsStored(t *testing.T) {
	monday := nextWeekday(time.Monday)
	onMonday := func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(monday.Add(10 * time.Hour)), EndTime: timestamppb.New(monday.Add(12 * time.Hour))}}
	}
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB11 5QN"))
	hr := h.createHR(shopping(onMonday))
	o := h.offer(hr.Name, ann.Name)
	// The edit's store write: Ann is free only on Tuesdays from now on.
	v := h.getVol(ann.Name)
	v.Availability.Weekly = []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}}}
	v.Contact = nil
	if _, err := h.st.UpdateVolunteer(h.ctx, v); err != nil {
		t.Fatal(err)
	}
	// The accept lands before the edit's track and review.
	_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
	if code, reason, _ := errorOf(t, err); code != codes.FailedPrecondition || reason != "NOT_ELIGIBLE" {
		t.Fatalf("accept by a volunteer now free only on Tuesdays, for a Monday: %v", err)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("request %v, want open again", got.State)
	}
}

// One number can serve several homes (a partner's office): requests under
// it at two places are two doors, each with its own volunteer.
func TestOneNumberTwoDoors(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	h.createVol(matchVolunteer("Bob", "AB11 5QN", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900222" }))
	h.createHR(shopping())
	h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Location = &pb.Location{Postcode: "AB11 5QN", Street: "Market Street", AddressLines: []string{"3 Market Street"}}
	}))
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OffersMade != 2 || resp.SameDoor != 0 {
		t.Fatalf("dispatch: %v %v", resp, err)
	}
	// And a later run, with both offered, keeps them apart too.
	h.createHR(shopping(func(r *pb.HelpRequest) { r.Needs = []pb.Need{pb.Need_NEED_PRESCRIPTION_COLLECTION} }))
	in, _, err := h.st.ListOpenMatchingInputs(h.ctx, store.Page{Size: 10})
	if err != nil || len(in) != 1 || in[0].Accompany == "" {
		t.Fatalf("open inputs %v, %v: want the third with the volunteer going to its door", in, err)
	}
}

// Two offers made at once, to one volunteer, of two requests at one time
// in two places: each passes the index before the other is written, so
// the store checks the volunteer's time again in the offer's own write.
func TestConcurrentOffersNotTwoPlacesAtOnce(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0))
	both := 0
	const rounds = 40
	for i := 0; i < rounds; i++ {
		v, reqs := twoStreetsAtOnce(h, i)
		var wg sync.WaitGroup
		var errs [2]error
		for k := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[k] = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: reqs[k].Name, Volunteer: v.Name})
			}()
		}
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			both++
		}
	}
	if both > 0 {
		t.Errorf("%d of %d times, one volunteer was offered two hour-long jobs in one hour-long window at two streets", both, rounds)
	}
}

// Dispatch plans, a coordinator offers by hand, then dispatch writes: the
// offer's own write checks the volunteer's time again.
func TestDispatchRacingAnOfferByHand(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithRateLimit(0, 0))
	bad := 0
	const rounds = 40
	for i := 0; i < rounds; i++ {
		v, reqs := twoStreetsAtOnce(h, i)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = h.match.Dispatch(h.ctx, &pb.DispatchRequest{}) }()
		go func() {
			defer wg.Done()
			_, _ = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: reqs[1].Name, Volunteer: v.Name})
		}()
		wg.Wait()
		if got := h.getVol(v.Name); got.PendingOffers == 2 {
			bad++
		}
		// clear the board for the next round
		for _, r := range reqs {
			_, _ = h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: r.Name})
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d times, dispatch and a hand offer together gave one volunteer two jobs at one time in two places", bad, rounds)
	}
}

// A request whose window meets two of the caller's requests at one door,
// held by two volunteers at times that do not meet, waits: offered to
// either, it would have both at that door at meeting times.
func TestDispatchWaitsWhereTwoVolunteersAreComing(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AN", func(v *pb.Volunteer) { v.Capacity = 2; v.Contact.Phone = "07700 900101" }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AL", func(v *pb.Volunteer) { v.Capacity = 2; v.Contact.Phone = "07700 900102" }))
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	at := func(from, to time.Duration) *pb.HelpRequest {
		return h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // 60 minutes
			r.Location = &pb.Location{Postcode: "AB10 1AN", Street: "Holburn Street"}
			r.Requester.Phone = "01224 500005"
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(from)), EndTime: timestamppb.New(tomorrow.Add(to))}}
		}))
	}
	early := at(9*time.Hour, 10*time.Hour)                                // Ann
	late := at(11*time.Hour, 12*time.Hour)                                // Bob: meets nothing of Ann's
	bridge := at(9*time.Hour+30*time.Minute, 11*time.Hour+30*time.Minute) // meets both
	// Coordinators offered the two by hand; their windows do not meet, so
	// no door has two volunteers at once yet.
	h.offer(late.Name, bob.Name)
	h.offer(early.Name, ann.Name)
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := h.getHR(bridge.Name)
	if got.State != pb.HelpRequest_STATE_OPEN || resp.SameDoor != 1 {
		t.Fatalf("the 09:30-11:30 request is %v (dispatch %v); want it open, waiting, as Ann is at that door 09:00-10:00 and Bob 11:00-12:00", got.State, resp)
	}
}

// twoStreetsAtOnce makes, for round i, a volunteer with room for three and
// two hour-long jobs for the same hour tomorrow on two streets: room for
// one of them only.
func twoStreetsAtOnce(h *harness, i int) (*pb.Volunteer, [2]*pb.HelpRequest) {
	tomorrow := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	v := h.createVol(matchVolunteer(fmt.Sprint("V", i), "AB10 1AN", func(v *pb.Volunteer) { v.Capacity = 3; v.Contact.Phone = fmt.Sprintf("07700 90%04d", i) }))
	var reqs [2]*pb.HelpRequest
	for k, street := range []string{"Union Street", "Crown Street"} {
		reqs[k] = h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Needs = []pb.Need{pb.Need_NEED_ERRANDS} // an hour
			r.Location = &pb.Location{Postcode: "AB10 1AN", Street: street}
			r.Requester.Phone = fmt.Sprintf("01224 8%02d%03d", k, i)
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: timestamppb.New(tomorrow.Add(10 * time.Hour)), EndTime: timestamppb.New(tomorrow.Add(11 * time.Hour))}}
		}))
	}
	return v, reqs
}

// hours sets a request's window from a to b hours from now.
func hours(a, b time.Duration) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) { r.Timing = window(a*time.Hour, b*time.Hour) }
}

// TestEditThatBringsTwoVolunteersToOneDoor: one caller's two requests at
// one door, at times that did not meet, went to two volunteers (Ann's
// assigned, Bob's pending). An edit that makes the times meet withdraws
// the edited request's pending offer (it goes to the volunteer already
// going, or waits); an accept of a pending offer that another volunteer
// would now meet at the door is refused with SAME_DOOR and its offer
// withdrawn; an offer made with allow_second_volunteer stands through
// both.
func TestEditThatBringsTwoVolunteersToOneDoor(t *testing.T) {
	moveTo := func(h *harness, name string, a, b time.Duration) *pb.HelpRequest {
		t.Helper()
		r := &pb.HelpRequest{Name: name}
		hours(a, b)(r)
		resp, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
		if err != nil {
			t.Fatalf("move %s: %v", name, err)
		}
		return resp.HelpRequest
	}
	setup := func(t *testing.T, allow bool) (h *harness, first, second *pb.HelpRequest, ann, bob *pb.Volunteer, toBob *pb.Offer) {
		h = newHarness(t)
		ann = h.createVol(matchVolunteer("Ann", "AB10 1AF"))
		bob = h.createVol(matchVolunteer("Bob", "AB10 1AB", phoned("07700 900222")))
		first = h.createHR(shopping(hours(1, 3)))
		second = h.createHR(shopping(hours(30, 32)))
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(first.Name, ann.Name).Name}); err != nil {
			t.Fatal(err)
		}
		r, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: second.Name, Volunteer: bob.Name, AllowSecondVolunteer: allow})
		if err != nil {
			t.Fatal(err)
		}
		return h, first, second, ann, bob, r.Offer
	}

	t.Run("edit withdraws", func(t *testing.T) {
		h, _, second, _, bob, toBob := setup(t, false)
		if got := moveTo(h, second.Name, 2, 4); got.State != pb.HelpRequest_STATE_OPEN {
			t.Errorf("after the edit the request is %v, want OPEN", got.State)
		}
		if o := h.getOffer(toBob.Name); o.State != pb.Offer_STATE_WITHDRAWN {
			t.Errorf("Bob's offer is %v, want WITHDRAWN", o.State)
		}
		if v := h.getVol(bob.Name); v.PendingOffers != 0 {
			t.Errorf("Bob holds %d offers", v.PendingOffers)
		}
	})
	t.Run("edit of the assigned one refused", func(t *testing.T) {
		h, first, _, _, _, toBob := setup(t, false)
		r := &pb.HelpRequest{Name: first.Name}
		hours(30, 31)(r)
		_, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: r, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"window"}}})
		wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: toBob.Name}); err != nil {
			t.Errorf("Bob's accept after the refused edit: %v", err)
		}
	})
	t.Run("accept refused", func(t *testing.T) {
		h, _, second, _, _, toBob := setup(t, false)
		// The offered request moves by another way than the API (the
		// store itself, as another process's write would): no review ran,
		// and the accept's own review catches it.
		stored, err := h.st.GetHelpRequest(h.ctx, strings.TrimPrefix(second.Name, "helpRequests/"))
		if err != nil {
			t.Fatal(err)
		}
		hours(2, 3)(stored)
		if _, err := h.st.UpdateHelpRequest(h.ctx, stored); err != nil {
			t.Fatal(err)
		}
		_, err = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: toBob.Name})
		wantFailure(t, err, codes.FailedPrecondition, server.ReasonSameDoor)
		if o := h.getOffer(toBob.Name); o.State != pb.Offer_STATE_WITHDRAWN {
			t.Errorf("Bob's refused offer is %v, want WITHDRAWN", o.State)
		}
		if r := h.getHR(second.Name); r.State != pb.HelpRequest_STATE_OPEN || slices.Contains(r.DeclinedVolunteers, toBob.Volunteer) {
			t.Errorf("the request after the refusal: %v, declined %v", r.State, r.DeclinedVolunteers)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		h, first, second, _, _, toBob := setup(t, true)
		moveTo(h, second.Name, 2, 4)
		moveTo(h, first.Name, 2, 3)
		if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: toBob.Name}); err != nil {
			t.Errorf("accept of an offer the caller agreed to: %v", err)
		}
	})
}

func (h *harness) getOffer(name string) *pb.Offer {
	h.t.Helper()
	r, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Offer
}
