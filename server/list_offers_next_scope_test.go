package server_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestVolunteerOfferPageTokenSaysNothingOfOthersOffers: a volunteer lists
// their offers of one request (help_request), which the store walks in
// the request's offers, everyone's. Callum's offer was withdrawn when a
// coordinator held him; the request was then offered to Aileen, who
// declined, and is OPEN again, which is all Callum's view of it says. A next_page_token after his one offer, with
// an empty page behind it, would tell him that someone else was offered
// it since. Where his own offer follows, the token leads to it.
func TestVolunteerOfferPageTokenSaysNothingOfOthersOffers(t *testing.T) {
	h := newHarness(t)
	callum := h.createVol(matchVolunteer("Callum", "AB10 1AF"))
	aileen := h.createVol(matchVolunteer("Aileen", "AB10 1AF"))
	hr := h.createHR(shopping())
	self := pb.NewMatchingServiceClient(h.as(h.newToken(h.st, &pb.Token{DisplayName: "callum", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: callum.Name})))
	mine := h.offer(hr.Name, callum.Name)
	setHeld := func(held bool) {
		t.Helper()
		_, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{
			Volunteer: &pb.Volunteer{Name: callum.Name, Held: held}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"held"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setHeld(true)
	theirs := h.offer(hr.Name, aileen.Name)
	if _, err := h.match.DeclineOffer(h.ctx, &pb.DeclineOfferRequest{Name: theirs.Name}); err != nil {
		t.Fatal(err)
	}
	list := func(token string) ([]string, string) {
		t.Helper()
		resp, err := self.ListOffers(h.ctx, &pb.ListOffersRequest{HelpRequest: hr.Name, PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		return namesOf(resp.Offers), resp.NextPageToken
	}
	got, next := list("")
	if len(got) != 1 || got[0] != mine.Name {
		t.Fatalf("listed %v, want his own %s", got, mine.Name)
	}
	if next != "" {
		more, _ := list(next)
		t.Errorf("a page token follows his only offer of the request (its next page: %d offers): it tells him it was offered to someone else since", len(more))
	}

	// Offered to him again: a token, and his second offer behind it.
	setHeld(false)
	again := h.offer(hr.Name, callum.Name)
	got, next = list("")
	if len(got) != 1 || got[0] != mine.Name || next == "" {
		t.Fatalf("first page %v, token %q; want %s and a token", got, next, mine.Name)
	}
	if got, next = list(next); len(got) != 1 || got[0] != again.Name || next != "" {
		t.Errorf("second page %v, token %q; want %s and no token", got, next, again.Name)
	}
}
