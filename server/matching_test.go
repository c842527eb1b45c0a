package server_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// matchVolunteer is a volunteer near AB10 1AB, free all day every day.
func matchVolunteer(name, postcode string, edit ...func(*pb.Volunteer)) *pb.Volunteer {
	v := &pb.Volunteer{
		Contact:      &pb.Contact{DisplayName: name, Phone: "07700 900" + strings.Repeat("1", 3)},
		Home:         &pb.Location{Postcode: postcode, Street: "Union Street"},
		Availability: &pb.Availability{},
		Capacity:     1,
		Organisation: "aberdeen-mutual-aid",
	}
	for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}})
	}
	for _, f := range edit {
		f(v)
	}
	return v
}

func shopping(edit ...func(*pb.HelpRequest)) *pb.HelpRequest {
	hr := validHelpRequest()
	hr.RequiredSkills = nil
	for _, f := range edit {
		f(hr)
	}
	return hr
}

// callerPhone makes a request another caller's: one door gets one
// volunteer, so tests that offer requests at one place to two volunteers
// need two callers.
func callerPhone(phone string) func(*pb.HelpRequest) {
	return func(r *pb.HelpRequest) { r.Requester.Phone = phone }
}

func (h *harness) getHR(name string) *pb.HelpRequest {
	h.t.Helper()
	r, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.HelpRequest
}

func (h *harness) getVol(name string) *pb.Volunteer {
	h.t.Helper()
	r, err := h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Volunteer
}

func (h *harness) offer(hr, vol string) *pb.Offer {
	h.t.Helper()
	r, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: vol})
	if err != nil {
		h.t.Fatalf("offer %s to %s: %v", hr, vol, err)
	}
	return r.Offer
}

func wantFailure(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	got, gotReason, _ := errorOf(t, err)
	if got != code || gotReason != reason {
		t.Errorf("got %v %s (%v), want %v %s", got, gotReason, err, code, reason)
	}
}

func TestFindCandidatesExplains(t *testing.T) {
	h := newHarness(t)
	near := h.createVol(matchVolunteer("Near", "AB10 1AB"))
	far := h.createVol(matchVolunteer("Farther", "AB11 5QN"))
	h.createVol(matchVolunteer("Resting", "AB10 1AF", func(v *pb.Volunteer) { v.Paused = true }))
	h.createVol(matchVolunteer("Walker", "AB10 1AF", func(v *pb.Volunteer) { v.Skills = []string{"dog-friendly"} }))
	hr := h.createHR(shopping(func(r *pb.HelpRequest) { r.RequiredSkills = nil }))

	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range resp.Candidates {
		got = append(got, c.DisplayName)
		if c.Explanation == "" || c.ScoreParts.GetDistance() != c.DistanceMetres {
			t.Errorf("candidate %v lacks its explanation or parts", c)
		}
		// The page's sentences share one string: each is its own
		// candidate's, from its distance on, and no more.
		if d := distanceWords(c.DistanceMetres); !strings.HasPrefix(c.Explanation, d) ||
			strings.Contains(c.Explanation[len(d):], " m") || strings.Contains(c.Explanation[len(d):], " km") {
			t.Errorf("candidate %s at %v m: explanation %q", c.DisplayName, c.DistanceMetres, c.Explanation)
		}
		if p := c.ScoreParts; p.Distance+p.SameStreet+p.SamePostcode+p.Fairness+p.Continuity != c.Score {
			t.Errorf("candidate %s: parts %v do not add up to score %v", c.DisplayName, p, c.Score)
		}
	}
	if len(got) < 2 || got[0] != "Near" || !slices.Contains(got, "Farther") || slices.Contains(got, "Resting") {
		t.Fatalf("candidates %v", got)
	}
	if c := resp.Candidates[0]; !c.SameStreet || !c.SamePostcode || !strings.Contains(c.Explanation, "same street") {
		t.Errorf("first candidate %v", c)
	}
	if !strings.Contains(resp.Summary, "1 has paused or is on hold") {
		t.Errorf("summary %q", resp.Summary)
	}
	_ = near
	_ = far

	// A skill nobody has: every volunteer in reach is counted against it.
	hr2 := h.createHR(shopping(func(r *pb.HelpRequest) { r.RequiredSkills = []string{"gaelic"} }))
	resp, err = h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr2.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Candidates) != 0 || !strings.Contains(resp.Summary, "lack gaelic") {
		t.Errorf("nobody speaks Gaelic, yet: %v %q", resp.Candidates, resp.Summary)
	}

	_, err = h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: "helpRequests/x"})
	wantFailure(t, err, codes.InvalidArgument, "INVALID_FIELDS")
	_, err = h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name, PageSize: 500})
	wantFailure(t, err, codes.InvalidArgument, "INVALID_FIELDS")
}

// TestCreateOfferRequestID: a repeated CreateOffer with its request_id
// gets the offer first made, even though the request is no longer open;
// the id with other fields, or one that is not a UUID, is INVALID_ARGUMENT.
func TestCreateOfferRequestID(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF"))
	hr := h.createHR(shopping())
	const id = "0b7e3c1a-2f4d-4e6a-9b8c-7d6e5f4a3b2c"
	first, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name, RequestId: id})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name, RequestId: id})
	if err != nil || again.Offer.Name != first.Offer.Name {
		t.Fatalf("repeat: %v %v, want %s", again, err, first.Offer.Name)
	}
	if v := h.getVol(ann.Name); v.PendingOffers != 1 {
		t.Errorf("Ann has %d pending offers after a repeat, want 1", v.PendingOffers)
	}
	for _, rid := range []string{id, "offer-1"} {
		_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: bob.Name, RequestId: rid})
		if code, _, fields := errorOf(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"request_id"}) {
			t.Errorf("request_id %q for another offer: %v %v (%v), want INVALID_ARGUMENT on request_id", rid, code, fields, err)
		}
	}
}

func TestOfferLifecycle(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF"))
	paused := h.createVol(matchVolunteer("Pat", "AB10 1AF", func(v *pb.Volunteer) { v.Paused = true }))
	hr := h.createHR(shopping())

	// Offer to Ann: the request is held for her.
	o := h.offer(hr.Name, ann.Name)
	if o.State != pb.Offer_STATE_PENDING || !o.ExpireTime.AsTime().Equal(clock.now().Add(30*time.Minute)) {
		t.Errorf("offer %v", o)
	}
	if got := h.getHR(hr.Name); got.State != pb.HelpRequest_STATE_OFFERED || got.Offer != o.Name {
		t.Errorf("request after offer: %v %v", got.State, got.Offer)
	}
	if got := h.getVol(ann.Name); got.PendingOffers != 1 {
		t.Errorf("Ann pending %d", got.PendingOffers)
	}
	// One live offer per request.
	_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: bob.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")

	// Ann declines: open again, and she is never offered it again.
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	got := h.getHR(hr.Name)
	if got.State != pb.HelpRequest_STATE_OPEN || !slices.Equal(got.DeclinedVolunteers, []string{ann.Name}) {
		t.Errorf("after decline: %v %v", got.State, got.DeclinedVolunteers)
	}
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: ann.Name})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: paused.Name})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	_, err = h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")

	// Bob lets his lease lapse: accepting late fails, and the sweep frees it.
	o2 := h.offer(hr.Name, bob.Name)
	clock.advance(31 * time.Minute)
	_, err = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o2.Name})
	wantFailure(t, err, codes.FailedPrecondition, "LEASE_EXPIRED")
	h.srv.Sweep(h.ctx)
	got = h.getHR(hr.Name)
	if got.State != pb.HelpRequest_STATE_OPEN || len(got.DeclinedVolunteers) != 2 {
		t.Errorf("after lapse: %v %v", got.State, got.DeclinedVolunteers)
	}
	if o, _ := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o2.Name}); o.GetOffer().GetState() != pb.Offer_STATE_EXPIRED {
		t.Errorf("lapsed offer %v", o)
	}
	// Once swept, a late accept still says why rather than "wrong state".
	_, err = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o2.Name})
	wantFailure(t, err, codes.FailedPrecondition, "LEASE_EXPIRED")
	if v := h.getVol(bob.Name); v.PendingOffers != 0 {
		t.Errorf("Bob still has %d pending", v.PendingOffers)
	}
	resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr.Name})
	if err != nil || len(resp.Candidates) != 0 || !strings.Contains(resp.Summary, "2 declined, missed or handed back this request before") {
		t.Errorf("after both declined: %v %q %v", resp.GetCandidates(), resp.GetSummary(), err)
	}

	// A second request: Bob accepts, it is assigned, then fulfilled.
	hr2 := h.createHR(shopping(func(r *pb.HelpRequest) { r.Requester.Phone = "01224 765432" }))
	o3 := h.offer(hr2.Name, bob.Name)
	acc, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o3.Name})
	if err != nil || acc.Offer.State != pb.Offer_STATE_ACCEPTED {
		t.Fatalf("accept: %v %v", acc, err)
	}
	got = h.getHR(hr2.Name)
	if got.State != pb.HelpRequest_STATE_ASSIGNED || got.AssignedVolunteer != bob.Name {
		t.Errorf("after accept: %v", got)
	}
	if v := h.getVol(bob.Name); v.ActiveAssignments != 1 || len(v.RecentAssignmentTimes) != 1 {
		t.Errorf("Bob after accept: %v", v)
	}
	// Bob is now at capacity and cannot be deleted.
	hr3 := h.createHR(shopping(func(r *pb.HelpRequest) { r.Requester.Phone = "01224 765432" }))
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr3.Name, Volunteer: bob.Name})
	wantFailure(t, err, codes.FailedPrecondition, "NOT_ELIGIBLE")
	_, err = h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: bob.Name})
	wantFailure(t, err, codes.FailedPrecondition, "HAS_COMMITMENTS")
	_, err = h.hr.DeleteHelpRequest(h.ctx, &pb.DeleteHelpRequestRequest{Name: hr2.Name})
	wantFailure(t, err, codes.FailedPrecondition, "HAS_COMMITMENTS")
	// An API update cannot clobber the lifecycle.
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr2.Name, Details: "and a newspaper"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := h.getHR(hr2.Name); got.State != pb.HelpRequest_STATE_ASSIGNED || got.AssignedVolunteer != bob.Name {
		t.Errorf("update changed the lifecycle: %v", got)
	}

	done, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: hr2.Name})
	if err != nil || done.HelpRequest.State != pb.HelpRequest_STATE_FULFILLED {
		t.Fatalf("complete: %v %v", done, err)
	}
	if v := h.getVol(bob.Name); v.ActiveAssignments != 0 {
		t.Errorf("Bob still has %d active", v.ActiveAssignments)
	}
	// The same caller again: Bob helped before and is told so.
	resp, err = h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: hr3.Name})
	if err != nil || len(resp.Candidates) == 0 || resp.Candidates[0].Volunteer != bob.Name || !strings.Contains(resp.Candidates[0].Explanation, "helped this person before") {
		t.Errorf("continuity: %v %v", resp.GetCandidates(), err)
	}

	// Cancelling an offered request withdraws the offer and frees Ann.
	o4 := h.offer(hr3.Name, ann.Name)
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hr3.Name}); err != nil {
		t.Fatal(err)
	}
	if o, _ := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o4.Name}); o.GetOffer().GetState() != pb.Offer_STATE_WITHDRAWN {
		t.Errorf("offer of a cancelled request: %v", o)
	}
	if v := h.getVol(ann.Name); v.PendingOffers != 0 {
		t.Errorf("Ann still has %d pending", v.PendingOffers)
	}
	_, err = h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: hr3.Name})
	wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
	_, err = h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: bob.Name, Lease: durationpb.New(time.Second)})
	wantFailure(t, err, codes.InvalidArgument, "INVALID_FIELDS")
	_, err = h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: "offers/01arz3ndektsv4rrffq69g5fav"})
	wantFailure(t, err, codes.NotFound, "OFFER_NOT_FOUND")
}

func TestDispatchCoversOpenRequests(t *testing.T) {
	h := newHarness(t)
	for _, pc := range []string{"AB10 1AB", "AB10 1AF", "AB11 5QN"} {
		h.createVol(matchVolunteer("V "+pc, pc, func(v *pb.Volunteer) { v.Capacity = 2 }))
	}
	var names []string
	for i := range 8 {
		hr := h.createHR(shopping(func(r *pb.HelpRequest) {
			r.Requester.Phone = fmt.Sprintf("01224 %06d", 100000+i) // eight households
			if i%2 == 0 {
				r.Urgency = pb.Urgency_URGENCY_CRITICAL
			}
		}))
		names = append(names, hr.Name)
	}
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Three volunteers with capacity 2 can take six of the eight; the four
	// critical ones must be among them.
	if resp.OpenRequests != 8 || resp.OffersMade != 6 || resp.Uncovered != 2 || resp.OffersByUrgency["URGENCY_CRITICAL"] != 4 ||
		resp.Outnumbered != 2 || resp.WithoutCandidates != 0 {
		t.Errorf("dispatch: %v", resp)
	}
	offered := 0
	for _, n := range names {
		if h.getHR(n).State == pb.HelpRequest_STATE_OFFERED {
			offered++
		}
	}
	if offered != 6 {
		t.Errorf("%d requests offered, want 6", offered)
	}
	// A second run finds nothing new to do: everyone is at capacity, so
	// nobody can take the two left.
	resp, err = h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OpenRequests != 2 || resp.OffersMade != 0 || resp.WithoutCandidates != 2 || resp.Outnumbered != 0 {
		t.Errorf("second dispatch: %v %v", resp, err)
	}
}

// TestDispatchCandidatesPerRequest: the candidates each request brings
// decide what dispatch can cover. Ann, Cat, Dan and Eve are the nearest
// to the first request, 100 to 400 m north of it, and each the only one
// with the skill another request needs; Bob, 500 m north, is free. With
// one candidate each, the first request and Ann's other both bring Ann,
// and one goes uncovered; the first is then given four (the engine widens
// a contested request fourfold), all taken by requests only they can
// take. With two it is given eight, Bob among them, and all five are
// covered; with the default twenty, at once.
func TestDispatchCandidatesPerRequest(t *testing.T) {
	const lat, lng = 57.1496, -2.0969        // AB10 1AB
	at := func(north float64) *pb.Location { // north of AB10 1AB, in metres
		return &pb.Location{Postcode: "AB10 1AB", Street: "Union Street", LatLng: &pb.LatLng{Latitude: lat + north/111_200, Longitude: lng}}
	}
	for _, tc := range []struct {
		perRequest int
		offers     int32
	}{{1, 4}, {2, 5}, {server.DefaultCandidatesPerRequest, 5}} {
		t.Run(fmt.Sprint(tc.perRequest), func(t *testing.T) {
			h := newHarnessWithClock(t, nil, server.WithCandidatesPerRequest(tc.perRequest))
			for i, name := range []string{"Ann", "Cat", "Dan", "Eve", "Bob"} {
				h.createVol(matchVolunteer(name, "AB10 1AB", func(v *pb.Volunteer) {
					v.Home = at(float64(100 * (i + 1)))
					v.Contact.Phone = fmt.Sprintf("07700 90022%d", i)
					if i < 4 {
						v.Skills = []string{[]string{"gaelic", "welsh", "bsl", "polish"}[i]}
					}
				}))
			}
			h.createHR(shopping(func(r *pb.HelpRequest) { r.Location = at(0) }))
			for i, skill := range []string{"gaelic", "welsh", "bsl", "polish"} {
				h.createHR(shopping(func(r *pb.HelpRequest) {
					r.Location, r.RequiredSkills = at(0), []string{skill}
					r.Requester.Phone = fmt.Sprintf("01224 76543%d", i)
				}))
			}
			resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
			if err != nil || resp.OffersMade != tc.offers || resp.Outnumbered != 5-tc.offers || resp.WithoutCandidates != 0 {
				t.Errorf("%d candidates per request: %v offers, %v outnumbered, %v without candidates (%v); want %d offers",
					tc.perRequest, resp.GetOffersMade(), resp.GetOutnumbered(), resp.GetWithoutCandidates(), err, tc.offers)
			}
		})
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "doorstep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, n := range []int{0, server.MaxCandidatesPerRequest + 1} {
		if _, err := server.New(st, zap.NewNop(), server.WithCandidatesPerRequest(n)); err == nil {
			t.Errorf("New accepted %d candidates per request", n)
		}
	}
}

// TestDispatchLargeRun makes more offers than one write holds: all are
// made, in a write per batch, and the index knows the volunteers are
// booked.
func TestDispatchLargeRun(t *testing.T) {
	h := newHarnessWithClock(t, &testClock{t: time.Now()}, server.WithRateLimit(0, 0))
	// Every request is at one place (a block of flats, 300 households),
	// so each one's candidates are the same 20 nearest volunteers: 20 with
	// room for 15 each cover all 300.
	const volunteers, requests = 20, 300
	for i := range volunteers {
		h.createVol(matchVolunteer(fmt.Sprint("V", i), []string{"AB10 1AB", "AB10 1AF", "AB11 5QN"}[i%3], func(v *pb.Volunteer) { v.Capacity = 15 }))
	}
	for i := range requests {
		h.createHR(shopping(func(r *pb.HelpRequest) { r.Requester.Phone = fmt.Sprintf("01224 %06d", 100000+i) }))
	}
	before, err := h.st.Revision()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil || resp.OpenRequests != requests || resp.OffersMade != requests || resp.Uncovered != 0 {
		t.Fatalf("dispatch: %v %v", resp, err)
	}
	after, _ := h.st.Revision()
	if writes := after - before; writes != (requests+255)/256 {
		t.Errorf("%d offers took %d writes, want %d", requests, writes, (requests+255)/256)
	}
	extra := h.createHR(shopping())
	found, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: extra.Name})
	if err != nil || len(found.Candidates) != 0 || !strings.Contains(found.Summary, fmt.Sprint(volunteers, " are fully booked")) {
		t.Errorf("after dispatch: %d candidates, %q, %v; want everyone fully booked", len(found.GetCandidates()), found.GetSummary(), err)
	}
}

func TestSweepExpiresRequestsPastTheirWindow(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	soon := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(2 * time.Hour))}
	}))
	offered := h.createHR(shopping(func(r *pb.HelpRequest) {
		r.Timing = &pb.HelpRequest_Deadline{Deadline: timestamppb.New(clock.now().Add(2 * time.Hour))}
	}))
	later := h.createHR(shopping())
	h.offer(offered.Name, ann.Name)
	clock.advance(3 * time.Hour)
	h.srv.Sweep(h.ctx)
	for name, want := range map[string]pb.HelpRequest_State{
		soon.Name:    pb.HelpRequest_STATE_EXPIRED,
		offered.Name: pb.HelpRequest_STATE_EXPIRED,
		later.Name:   pb.HelpRequest_STATE_OPEN,
	} {
		if got := h.getHR(name).State; got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if v := h.getVol(ann.Name); v.PendingOffers != 0 {
		t.Errorf("Ann keeps %d pending offers for an expired request", v.PendingOffers)
	}
}

// TestMaintainDispatchesOnItsInterval runs the background loop and waits
// (bounded) for it to offer an open request by itself.
func TestMaintainDispatchesOnItsInterval(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	hr := h.createHR(shopping())
	if err := h.dispatchedByInterval(t, hr.Name, 20*time.Millisecond); !errors.Is(err, context.Canceled) {
		t.Errorf("Maintain returned %v", err)
	}
}

func TestCapacityCannotDropBelowCommitments(t *testing.T) {
	h := newHarness(t)
	v := h.createVol(matchVolunteer("Ann", "AB10 1AB", func(v *pb.Volunteer) { v.Capacity = 2 }))
	h.offer(h.createHR(shopping()).Name, v.Name)
	h.offer(h.createHR(shopping()).Name, v.Name)
	_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: v.Name, Capacity: 1},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}},
	})
	code, _, fields := errorOf(t, err)
	if code != codes.InvalidArgument || !slices.Equal(fields, []string{"volunteer.capacity"}) {
		t.Errorf("lowering capacity below commitments: %v", err)
	}
	if got := h.getVol(v.Name); got.Capacity != 2 {
		t.Errorf("capacity changed to %d", got.Capacity)
	}
}

// TestListOffers: a volunteer's offers, a request's, those in one state,
// page by page; what a volunteer's token may list; and bad arguments.
func TestListOffers(t *testing.T) {
	h := newHarness(t)
	// Both live a street away from the requests, so that every offer has
	// a distance to show.
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 5 }))
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF", func(v *pb.Volunteer) { v.Capacity = 5 }))
	r1, r2, r3 := h.createHR(shopping()), h.createHR(shopping(callerPhone("01224 765432"))), h.createHR(shopping())
	annR1 := h.offer(r1.Name, ann.Name)
	annR2 := h.offer(r2.Name, ann.Name)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: annR2.Name}); err != nil {
		t.Fatal(err)
	}
	bobR2 := h.offer(r2.Name, bob.Name)
	annR3 := h.offer(r3.Name, ann.Name)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: annR3.Name}); err != nil {
		t.Fatal(err)
	}

	list := func(c pb.MatchingServiceClient, req *pb.ListOffersRequest) ([]string, error) {
		var names []string
		for {
			resp, err := c.ListOffers(h.ctx, req)
			if err != nil {
				return nil, err
			}
			for _, o := range resp.Offers {
				names = append(names, o.Name)
				if o.GetDistanceMetres() <= 0 {
					t.Errorf("%s has no distance", o.Name)
				}
			}
			if resp.NextPageToken == "" {
				return names, nil
			}
			req = proto.CloneOf(req)
			req.PageToken = resp.NextPageToken
		}
	}
	for _, tt := range []struct {
		name string
		req  *pb.ListOffersRequest
		want []string
	}{
		{"a volunteer's", &pb.ListOffersRequest{Volunteer: ann.Name}, []string{annR1.Name, annR2.Name, annR3.Name}},
		{"a volunteer's, a page at a time", &pb.ListOffersRequest{Volunteer: ann.Name, PageSize: 1}, []string{annR1.Name, annR2.Name, annR3.Name}},
		{"a volunteer's pending", &pb.ListOffersRequest{Volunteer: ann.Name, State: pb.Offer_STATE_PENDING}, []string{annR1.Name}},
		{"a request's", &pb.ListOffersRequest{HelpRequest: r2.Name}, []string{annR2.Name, bobR2.Name}},
		{"all pending", &pb.ListOffersRequest{State: pb.Offer_STATE_PENDING}, []string{annR1.Name, bobR2.Name}},
		{"all", &pb.ListOffersRequest{PageSize: 2}, []string{annR1.Name, annR2.Name, bobR2.Name, annR3.Name}},
		{"a volunteer's in force", &pb.ListOffersRequest{Volunteer: ann.Name, Live: true}, []string{annR1.Name, annR3.Name}},
	} {
		got, err := list(h.match, tt.req)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
	}

	// A volunteer's token lists their own, and only their own.
	bobConn := h.as(h.newToken(h.st, &pb.Token{DisplayName: "bob", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: bob.Name}))
	bobMatch := pb.NewMatchingServiceClient(bobConn)
	bobCaps := "volunteers/" + strings.ToUpper(strings.TrimPrefix(bob.Name, "volunteers/")) // ids are taken in either case
	for _, req := range []*pb.ListOffersRequest{{}, {Volunteer: bob.Name}, {Volunteer: bobCaps}, {HelpRequest: r2.Name}} {
		if got, err := list(bobMatch, req); err != nil || !slices.Equal(got, []string{bobR2.Name}) {
			t.Errorf("Bob lists %v: %v %v", req, got, err)
		}
	}
	if got, err := list(bobMatch, &pb.ListOffersRequest{HelpRequest: r1.Name}); err != nil || len(got) != 0 {
		t.Errorf("Bob lists Ann's request's offers: %v %v", got, err)
	}
	_, err := bobMatch.ListOffers(h.ctx, &pb.ListOffersRequest{Volunteer: ann.Name})
	wantFailure(t, err, codes.PermissionDenied, "PERMISSION_DENIED")
	partner := h.as(h.newToken(h.st, &pb.Token{DisplayName: "p", Role: pb.Role_ROLE_PARTNER, Organisation: "aberdeen-mutual-aid"}))
	_, err = pb.NewMatchingServiceClient(partner).ListOffers(h.ctx, &pb.ListOffersRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("a partner lists offers: %v", err)
	}

	for _, tt := range []struct {
		req   *pb.ListOffersRequest
		field string
	}{
		{&pb.ListOffersRequest{Volunteer: "ann"}, "volunteer"},
		{&pb.ListOffersRequest{HelpRequest: "helpRequests/nope"}, "help_request"},
		{&pb.ListOffersRequest{State: pb.Offer_State(42)}, "state"},
		{&pb.ListOffersRequest{PageSize: -1}, "page_size"},
		{&pb.ListOffersRequest{PageToken: "not-a-token"}, "page_token"},
	} {
		_, err := h.match.ListOffers(h.ctx, tt.req)
		code, _, fields := errorOf(t, err)
		if code != codes.InvalidArgument || !slices.Equal(fields, []string{tt.field}) {
			t.Errorf("%v: %v %v, want INVALID_ARGUMENT on %s", tt.req, code, fields, tt.field)
		}
	}
}

// TestOfferDistanceAbsentWhenARecordIsGone: an offer's distance is given
// while both its records stand, and absent, not zero, once the volunteer
// has been deleted.
func TestOfferDistanceAbsentWhenARecordIsGone(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, ann.Name)
	got, err := h.match.GetOffer(h.ctx, &pb.GetOfferRequest{Name: o.Name})
	if err != nil || got.Offer.DistanceMetres == nil {
		t.Fatalf("offer with both records: %v, %v", got, err)
	}
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: ann.Name}); err != nil {
		t.Fatal(err)
	}
	list, err := h.match.ListOffers(h.ctx, &pb.ListOffersRequest{HelpRequest: hr.Name})
	if err != nil || len(list.Offers) != 1 || list.Offers[0].DistanceMetres != nil {
		t.Errorf("offers of the request after its volunteer was deleted: %v, %v; want one, without a distance", list.GetOffers(), err)
	}
}

// TestReopenMatchesAsBefore: the engine a server loads from the store at
// start (each record taken in straight from its bytes, contacts opened
// apart) answers as the engine that saw every write: the same candidates,
// names, distances, scores and explanations.
func TestReopenMatchesAsBefore(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Near", "AB10 1AB"))
	h.createVol(matchVolunteer("Farther", "AB11 5QN", func(v *pb.Volunteer) { v.Vetting = &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED} }))
	h.createVol(matchVolunteer("Resting", "AB10 1AF", func(v *pb.Volunteer) { v.Paused = true }))
	h.createVol(matchVolunteer("Walker", "AB10 1AF", func(v *pb.Volunteer) {
		v.Skills = []string{"dog-friendly", "welsh"}
		v.Home.AddressLines = []string{"Flat 1"}
		v.Availability.Weekly = v.Availability.Weekly[:3]
		v.Availability.Weekly[1].StartTime.Minutes = 30
	}))
	h.createVol(matchVolunteer("Away", "AB10 1AB", func(v *pb.Volunteer) {
		v.Availability.Away = []*pb.DateRange{{StartDate: &pb.Date{Year: 2026, Month: 1, Day: 1}, EndDate: &pb.Date{Year: 2026, Month: 1, Day: 2}}}
	}))
	var reqs []string
	for _, skills := range [][]string{nil, {"welsh"}, {"klingon"}} {
		reqs = append(reqs, h.createHR(shopping(func(r *pb.HelpRequest) { r.RequiredSkills = skills })).Name)
	}
	find := func() []*pb.FindCandidatesResponse {
		var out []*pb.FindCandidatesResponse
		for _, name := range reqs {
			resp, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: name, PageSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, resp)
		}
		return out
	}
	before := find()
	h.reopen()
	after := find()
	named := 0
	for i := range before {
		if !proto.Equal(before[i], after[i]) {
			t.Errorf("request %d:\nbefore %v\nafter  %v", i, before[i], after[i])
		}
		for _, c := range after[i].Candidates {
			if c.DisplayName != "" {
				named++
			}
		}
	}
	if named < 3 {
		t.Errorf("%d named candidates after reopen: the test means to find some", named)
	}
}

// A change the state does not allow says which record is in which state,
// for the person at the keyboard, and gives the state in ErrorInfo.
func TestWrongStateSaysWhich(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AF"))
	hr := h.createHR(shopping())
	o := h.offer(hr.Name, ann.Name)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
	offered := h.createHR(shopping(func(r *pb.HelpRequest) { r.Requester.Phone = "01224 765432" }))
	h.offer(offered.Name, ann.Name)
	bob := h.createVol(matchVolunteer("Bob", "AB10 1AF"))
	for _, tc := range []struct {
		name  string
		call  func() error
		want  string
		state string
	}{
		{"accept a declined offer", func() error {
			_, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: o.Name})
			return err
		}, "the offer is declined, which does not allow this; read it again", "declined"},
		{"complete an offered request", func() error {
			_, err := h.match.CompleteHelpRequest(h.ctx, &pb.CompleteHelpRequestRequest{Name: offered.Name})
			return err
		}, "the help request is offered, which does not allow this; read it again", "offered"},
		{"offer an offered request", func() error {
			_, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: offered.Name, Volunteer: bob.Name})
			return err
		}, "the request is offered, not open", "offered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantFailure(t, err, codes.FailedPrecondition, "WRONG_STATE")
			st, _ := status.FromError(err)
			if st.Message() != tc.want {
				t.Errorf("message %q, want %q", st.Message(), tc.want)
			}
			var state string
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok {
					state = info.Metadata["state"]
				}
			}
			if state != tc.state {
				t.Errorf("ErrorInfo state %q, want %q", state, tc.state)
			}
		})
	}
}

// distanceWords is how an explanation begins, for a candidate at m metres.
func distanceWords(m float64) string {
	switch {
	case m < 5:
		return "under 10 m"
	case m < 995:
		return fmt.Sprintf("%d m", int(math.Round(m/10)*10))
	}
	return fmt.Sprintf("%.1f km", m/1000)
}
