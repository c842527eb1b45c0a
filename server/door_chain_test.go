package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDispatchDoorChainLeavesUrgentWaiting: a caller's volunteer is
// coming this evening (the 16:00 visit), fully booked; the caller's open
// afternoon request meets that visit, and their critical morning request
// meets the afternoon one but not the visit. Nobody is coming during the
// morning request (FindCandidates names nobody, and an offer by hand is
// allowed), and a neighbour is free: dispatch offers it to them. It used
// to hold it back with the afternoon request, for the evening's volunteer
// who could take neither, and count it as same_door, so that a critical
// request with a free neighbour waited until it expired. The afternoon
// request, which meets both, still waits.
func TestDispatchDoorChainLeavesUrgentWaiting(t *testing.T) {
	clock := &testClock{t: time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)}
	h := newHarnessWithClock(t, clock)
	coming := h.createVol(matchVolunteer("Evening Visitor", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900001" }))
	free := h.createVol(matchVolunteer("Free Neighbour", "AB10 1AB", func(v *pb.Volunteer) { v.Contact.Phone = "07700 900002" }))
	at := func(h0, m int) *timestamppb.Timestamp {
		return timestamppb.New(clock.now().Truncate(24 * time.Hour).Add(time.Duration(h0)*time.Hour + time.Duration(m)*time.Minute))
	}
	request := func(from, to *timestamppb.Timestamp, u pb.Urgency) *pb.HelpRequest {
		return h.createHR(shopping(callerPhone("01224 000009"), func(r *pb.HelpRequest) {
			r.Location = &pb.Location{Postcode: "AB10 1AW", Street: "Zed Road"}
			r.Timing = &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: from, EndTime: to}}
			r.Urgency = u
		}))
	}
	evening := request(at(16, 0), at(18, 0), pb.Urgency_URGENCY_NORMAL)
	if _, err := h.match.AcceptOffer(h.ctx, &pb.AcceptOfferRequest{Name: h.offer(evening.Name, coming.Name).Name}); err != nil {
		t.Fatal(err)
	}
	afternoon := request(at(13, 0), at(16, 30), pb.Urgency_URGENCY_NORMAL)
	morning := request(at(10, 0), at(14, 0), pb.Urgency_URGENCY_CRITICAL)

	fc, err := h.match.FindCandidates(h.ctx, &pb.FindCandidatesRequest{HelpRequest: morning.Name})
	if err != nil {
		t.Fatal(err)
	}
	if fc.VolunteerComing != "" || len(fc.Candidates) != 1 || fc.Candidates[0].Volunteer != free.Name {
		t.Fatalf("FindCandidates for the morning request: coming %q, candidates %v; want nobody coming and %s", fc.VolunteerComing, fc.Candidates, free.Name)
	}
	if err := h.st.DoorAllows(h.ctx, strings.TrimPrefix(morning.Name, "helpRequests/"), free.Name); err != nil {
		t.Fatalf("an offer by hand of the morning request to %s: %v, want allowed", free.Name, err)
	}
	resp, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.getHR(morning.Name); got.State != pb.HelpRequest_STATE_OFFERED || h.getOffer(got.Offer).Volunteer != free.Name {
		t.Errorf("critical morning request is %v after dispatch (%v), want offered to %s, the free neighbour: nobody else is coming then", got.State, resp, free.Name)
	}
	if got := h.getHR(afternoon.Name); got.State != pb.HelpRequest_STATE_OPEN {
		t.Errorf("afternoon request, meeting two volunteers' visits, is %v, want it left open", got.State)
	}
}
