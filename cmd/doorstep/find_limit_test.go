package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestRequestFindMoreThanShown: a number many requests share (a partner's
// office line, given for every client it refers) has more than request
// find shows at once. It says so, and its advice, a larger --limit, must
// be one the command takes: the request the caller rings about is the
// newest, and it is the one left out.
func TestRequestFindMoreThanShown(t *testing.T) {
	e := newTestEnv(t)
	const office = "+441224000111"
	start := e.clock.now().Add(24 * time.Hour)
	var newest *pb.HelpRequest
	for range maxPageSize + 1 {
		hr, err := e.st.CreateHelpRequest(context.Background(), &pb.HelpRequest{
			Needs:        []pb.Need{pb.Need_NEED_FOOD_PARCEL},
			Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(start)},
			Location:     &pb.Location{Postcode: "AB10 1AB", LatLng: &pb.LatLng{Latitude: 57.14, Longitude: -2.1}},
			Requester:    &pb.Contact{DisplayName: "Food bank office", Phone: office},
			Organisation: org,
		}, store.Idempotency{})
		if err != nil {
			t.Fatal(err)
		}
		newest = hr
	}
	out := e.ok("request", "find", "--phone", office)
	if strings.Contains(out, idOf(newest.Name)) || !strings.HasSuffix(out, "Showing 1000; more match: give a larger --limit or narrow the search.\n") {
		t.Fatalf("request find of %d requests ends:\n%s", maxPageSize+1, out[max(0, len(out)-300):])
	}
	out = e.ok("request", "find", "--phone", office, "--limit", "2000")
	if !strings.Contains(out, idOf(newest.Name)) || strings.Contains(out, "more match") {
		t.Errorf("request find --limit 2000 ends:\n%s\nwant every request, the newest among them", out[max(0, len(out)-300):])
	}
	checkFailure(t, e.run("request", "find", "--phone", office, "--limit", "0"), true, exitUsage, "--limit must be at least 1.")
}
