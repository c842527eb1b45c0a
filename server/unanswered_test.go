package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestUnansweredOffersPauseVolunteer: a volunteer who lets offer after
// offer run out holds each request for a whole lease while the person
// waits. The third in a row pauses them: the offer they still hold is
// withdrawn at once, nothing more is offered them, the operator's log
// counts it (without naming them), and a resume puts them back.
func TestUnansweredOffersPauseVolunteer(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock)
	ann := h.createVol(matchVolunteer("Ann Unanswering", "AB10 1AB", func(v *pb.Volunteer) { v.Capacity = 2 }))
	var reqs []*pb.HelpRequest
	for i := range 4 {
		reqs = append(reqs, h.createHR(shopping(inTwoDays(clock), callerPhone("07700 90012"+string(rune('0'+i))))))
	}
	for i, hr := range reqs[:2] {
		h.offer(hr.Name, ann.Name)
		clock.advance(31 * time.Minute)
		h.srv.Sweep(h.ctx)
		if got := h.getVol(ann.Name); got.UnansweredOffers != int32(i+1) || got.Paused {
			t.Fatalf("after %d lapses: unanswered %d, paused %v", i+1, got.UnansweredOffers, got.Paused)
		}
	}
	third := h.offer(reqs[2].Name, ann.Name)
	clock.advance(10 * time.Minute)
	fourth := h.offer(reqs[3].Name, ann.Name)
	clock.advance(21 * time.Minute) // the third's lease is over, the fourth's is not
	rev := h.revision()
	h.srv.Sweep(h.ctx)
	if !slices.ContainsFunc(h.logged(rev), func(e *pb.Event) bool {
		return e.Type == pb.Event_TYPE_VOLUNTEER_UPDATED && e.Volunteer == ann.Name
	}) {
		t.Errorf("no VOLUNTEER_UPDATED for the pause: a coordinator's app shows them active; events %v", h.logged(rev))
	}

	got := h.getVol(ann.Name)
	if !got.Paused || got.UnansweredOffers != 3 || got.PendingOffers != 0 {
		t.Errorf("after a third lapse: paused %v, unanswered %d, pending %d; want true, 3, 0", got.Paused, got.UnansweredOffers, got.PendingOffers)
	}
	if o := h.getOffer(third.Name); o.State != pb.Offer_STATE_EXPIRED {
		t.Errorf("third offer %v, want EXPIRED", o.State)
	}
	if o := h.getOffer(fourth.Name); o.State != pb.Offer_STATE_WITHDRAWN {
		t.Errorf("the offer a paused volunteer still held is %v, want WITHDRAWN at once", o.State)
	}
	if hr := h.getHR(reqs[3].Name); hr.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("its request is %v, want OPEN for someone else", hr.State)
	}
	if slices.Contains(h.candidates(reqs[3].Name), ann.Name) {
		t.Error("FindCandidates still offers the paused volunteer")
	}
	if _, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: reqs[3].Name, Volunteer: ann.Name}); err == nil {
		t.Error("an offer to the paused volunteer was made")
	}

	var counted bool
	for _, e := range h.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(v)
		}
		if strings.Contains(line, "Ann") || strings.Contains(line, "Unanswering") {
			t.Errorf("a log line names the volunteer: %s", line)
		}
		if e.Message == "swept" && e.ContextMap()["volunteers_paused_unanswered"] == int64(1) {
			counted = true
		}
	}
	if !counted {
		t.Error("no sweep line counts volunteers_paused_unanswered 1")
	}

	resp, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: ann.Name},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"paused"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Volunteer.Paused || resp.Volunteer.UnansweredOffers != 0 {
		t.Errorf("resumed: paused %v, unanswered %d; want false, 0", resp.Volunteer.Paused, resp.Volunteer.UnansweredOffers)
	}
	if !slices.Contains(h.candidates(reqs[3].Name), ann.Name) {
		t.Error("resumed, the volunteer is still not a candidate")
	}
}

// TestUnansweredOffersOutputOnly: the count is the server's; a caller
// naming it in an update is told so.
func TestUnansweredOffersOutputOnly(t *testing.T) {
	h := newHarness(t)
	ann := h.createVol(matchVolunteer("Ann", "AB10 1AB"))
	for _, path := range []string{"unanswered_offers", "last_unanswered_time"} {
		_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer:  &pb.Volunteer{Name: ann.Name},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}},
		})
		code, _, fields := errorOf(t, err)
		if code != codes.InvalidArgument || !slices.Contains(fields, "update_mask.paths[0]") || !strings.Contains(status.Convert(err).Message(), "is output only") {
			t.Errorf("update naming %s: %v %v (%v), want INVALID_ARGUMENT on update_mask.paths[0], saying it is output only", path, code, fields, err)
		}
	}
	if got := h.getVol(ann.Name); got.Etag != ann.Etag {
		t.Errorf("refused updates changed the volunteer: etag %s, was %s", got.Etag, ann.Etag)
	}
}
