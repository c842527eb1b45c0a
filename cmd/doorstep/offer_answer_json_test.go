package main

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestOfferAnswerAskedAgainJSONWhenTheOfferCannotBeRead: offer decline
// --json whose first answer came too late asks again, meets the offer
// declined, and reads it to print it. When that read failed (the server
// stopping, a network blip) it printed "offers/X is declined." to stdout,
// a line of text where a script reads one JSON object.
func TestOfferAnswerAskedAgainJSONWhenTheOfferCannotBeRead(t *testing.T) {
	f := &firstAnswerLost{method: pb.MatchingService_DeclineOffer_FullMethodName}
	var unreadable atomic.Bool
	e := newTestEnvWith(t, f.option(), grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if unreadable.Load() && info.FullMethod == pb.MatchingService_GetOffer_FullMethodName {
			return nil, status.Error(codes.Unavailable, "test: the server is stopping")
		}
		return h(ctx, req)
	}))
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	callum, _ := e.addVolunteers()
	offer := firstName(t, e.ok("offer", "make", e.newRequest(), callum), "offers")
	unreadable.Store(true)
	r := e.run("offer", "decline", offer, "--json")
	var m map[string]any
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &m) != nil || m["name"] != offer || m["state"] != pb.Offer_STATE_DECLINED.String() {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and one JSON object naming %s, declined", r.code, r.stdout, r.stderr, offer)
	}
}
