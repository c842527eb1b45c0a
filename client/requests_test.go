package client_test

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func TestAllHelpRequestsPagesAndStops(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	var want []string
	for range 5 {
		hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, hr.Name)
	}
	if _, err := c.CreateHelpRequest(ctx, helpRequest("torry-food-bank", "")); err != nil {
		t.Fatal(err)
	}
	filter := &pb.ListHelpRequestsRequest{PageSize: 2, Organisation: "aberdeen-mutual-aid", PageToken: "ignored"}
	var got []string
	for hr, err := range c.AllHelpRequests(ctx, filter) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, hr.Name)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("item %d = %s, want %s", i, got[i], want[i])
		}
	}
	const list = pb.HelpRequestService_ListHelpRequests_FullMethodName
	if n := f.count(list); n != 3 {
		t.Errorf("%d pages fetched, want 3", n)
	}
	if filter.PageToken != "ignored" {
		t.Error("the caller's filter was changed")
	}

	// A break stops fetching.
	for range c.AllHelpRequests(ctx, filter) {
		break
	}
	if n := f.count(list); n != 4 {
		t.Errorf("%d pages fetched in all, want 4", n)
	}

	// A failed page ends the sequence with its error.
	f.set(f.refuse, list, -1)
	var errs int
	for _, err := range c.AllVolunteers(ctx, nil) {
		if err != nil {
			errs++
		}
	}
	for _, err := range c.AllHelpRequests(ctx, nil) {
		if status.Code(err) != codes.Unavailable {
			t.Errorf("err = %v, want UNAVAILABLE", err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d errors, want just the failed page", errs)
	}
}

func TestCreateGivesEachCallItsOwnRequestID(t *testing.T) {
	var rec requestIDs
	s := newTestServer(t, rec.option())
	c := s.client(t)
	ctx := context.Background()
	for range 2 {
		if _, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateVolunteer(ctx, volunteer("aberdeen-mutual-aid")); err != nil {
		t.Fatal(err)
	}
	ids := rec.all()
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if len(ids) != 3 || ids[0] == ids[1] {
		t.Fatalf("request ids %q, want 3 different", ids)
	}
	for _, id := range ids {
		if !uuid.MatchString(id) {
			t.Errorf("request id %q is not a version 4 UUID", id)
		}
	}
}

// TestAllOffersListsAVolunteersOffers: the offers to one volunteer, page
// by page, and none of anyone else's.
func TestAllOffersListsAVolunteersOffers(t *testing.T) {
	f := newFaults()
	s := newTestServer(t, f.option())
	c := s.client(t)
	ctx := context.Background()
	var vols []*pb.Volunteer
	for range 2 {
		v := freeVolunteer("aberdeen-mutual-aid")
		v.Capacity = 3
		v, err := c.CreateVolunteer(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		vols = append(vols, v)
	}
	var want []string
	for i := range 4 {
		hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Matching.CreateOffer(ctx, &pb.CreateOfferRequest{HelpRequest: hr.Name, Volunteer: vols[i%2].Name})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			want = append(want, resp.Offer.Name)
		}
	}
	var got []string
	for o, err := range c.AllOffers(ctx, &pb.ListOffersRequest{Volunteer: vols[0].Name, PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// The second page ends the volunteer's offers, so it has no token.
	if n := f.count(pb.MatchingService_ListOffers_FullMethodName); n != 2 {
		t.Errorf("%d pages fetched, want 2", n)
	}
}
