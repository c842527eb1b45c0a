package server_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/doorstep-aid/doorstep/phone"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestTrunkZeroTypedWithoutBrackets: a daughter in Dublin gives her
// mobile for her mother's shopping as "+353 087 123 4567" at one call,
// and as it is printed on her card, "+353 (0)87 123 4567", at the next,
// for the same morning. Since the bracketed zero was dropped, the two
// were stored as two numbers (+3530871234567, which does not connect, and
// +353871234567): the second call was not told of the first request, a
// find by the number found one of the two, and two volunteers could be
// sent to one door. The zero after a country code that never dials it is
// dropped however it is typed.
func TestTrunkZeroTypedWithoutBrackets(t *testing.T) {
	h := newHarness(t)
	base := time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	first := h.createSameTime(callerPhone("+353 087 123 4567"), sameTimeWindow(base, 0, 2*time.Hour))
	if got := first.GetHelpRequest().GetRequester().GetPhone(); got != "+353871234567" {
		t.Errorf("+353 087 123 4567 stored as %s, want +353871234567 (dialled from the UK)", got)
	}
	second := h.createSameTime(callerPhone("+353 (0)87 123 4567"), sameTimeWindow(base, time.Hour, 3*time.Hour))
	if want := first.GetHelpRequest().GetName(); !slices.Contains(second.GetSameTimeRequests(), want) {
		t.Errorf("the second call's same_time_requests = %v, want the first's request %s", second.GetSameTimeRequests(), want)
	}
	resp, err := h.hr.ListHelpRequests(h.ctx, &pb.ListHelpRequestsRequest{RequesterPhone: "+353 87 123 4567"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.HelpRequests) != 2 {
		t.Errorf("find by +353 87 123 4567: %d requests, want both", len(resp.HelpRequests))
	}
	for _, tc := range []struct{ in, want string }{
		{"0033 06 12 34 56 78", "+33612345678"},
		{"+49 030 1234567", "+49301234567"},
		{"+39 06 1234 5678", "+390612345678"},    // Italy dials it
		{"+241 06 03 12 34", "+24106031234"},     // so does Gabon
		{"+1 (555) 123-4567", "+15551234567"},    // an area code in brackets
		{"+7 (495) 123-45-67", "+74951234567"},   // and Moscow's
		{"+380 (0)67 123 4567", "+380671234567"}, // a three-digit code
	} {
		if got, err := phone.Normalise(tc.in); err != nil || got != tc.want {
			t.Errorf("%q stored as %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestTrunkZeroStoredEarlierEdited: a request and a volunteer stored
// before the zero after a country code was dropped kept it
// (+3530871234567) until the upgrade, which gives them the number's form
// today. An edit of anything else keeps that form, the request is found
// by either, and a volunteer with an offer waiting, who may not change
// their own number, is not refused an edit of their name for it.
func TestTrunkZeroStoredEarlierEdited(t *testing.T) {
	h := newHarness(t)
	const stored, today = "+3530871234567", "+353871234567"
	hr := h.createHR(shopping(callerPhone(today)))
	legacyRequest(t, h, hr.Name, func(r *pb.HelpRequest) { r.Requester.Phone = stored })
	upgradeFrom13(t, h)
	edited, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
		HelpRequest: &pb.HelpRequest{Name: hr.Name, Details: "Milk and bread"},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := edited.HelpRequest.GetRequester().GetPhone(); got != today {
		t.Errorf("edited, the request's number is %s, want %s", got, today)
	}
	for phone, want := range map[string]int{today: 1, stored: 1} {
		got, _, err := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{Phone: phone}, store.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Errorf("by_phone %s holds %d requests, want %d", phone, len(got), want)
		}
	}

	self := h.createVol(matchVolunteer("Siobhan", "AB10 1AB", phoned(today)))
	legacyVolunteer(t, h, self.Name, func(v *pb.Volunteer) { v.Contact.Phone = stored })
	upgradeFrom13(t, h)
	caller := h.createHR(shopping(callerPhone("01224 123456")))
	h.offer(caller.Name, self.Name)
	own := pb.NewVolunteerServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "siobhan", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: self.Name})))
	if _, err := own.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
		Volunteer:  &pb.Volunteer{Name: self.Name, Contact: &pb.Contact{DisplayName: "Siobhán"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contact.display_name"}},
	}); err != nil {
		t.Errorf("her edit of her name, with an offer waiting: %v", err)
	}
}
