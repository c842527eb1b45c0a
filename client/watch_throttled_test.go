package client_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// refuser turns away the WatchEvents streams numbered in refuse (from 0)
// with the error given, as the server does a token over its call rate or
// its open streams.
type refuser struct {
	refuse map[int64]error
	n      atomic.Int64
}

func (r *refuser) option() grpc.ServerOption { return grpc.ChainStreamInterceptor(r.stream) }

func (r *refuser) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != pb.EventService_WatchEvents_FullMethodName {
		return handler(srv, ss)
	}
	if err := r.refuse[r.n.Add(1)-1]; err != nil {
		return err
	}
	return handler(srv, ss)
}

// A watch that broke and, reconnecting, is turned away for the moment
// (its token over its call rate while the app reloads its view, or over
// its streams while the server has yet to notice the old one is dead)
// tries again later, as it does while the server is down, rather than
// ending the app's live view.
func TestWatchReconnectThrottledTriesAgain(t *testing.T) {
	ref := &refuser{refuse: map[int64]error{
		1: withInfo(codes.ResourceExhausted, "too many calls", server.ReasonRateLimited, nil),
		2: withInfo(codes.ResourceExhausted, "too many streams", server.ReasonTooManyStreams, nil),
	}}
	cut := &cutter{after: 2, plan: []ending{endUnavailable}}
	s := newTestServer(t, ref.option(), cut.option())
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	const total = 3
	var log eventLog
	var want []string
	err := c.Watch(ctx, client.WatchOptions{Types: created}, func(resp *pb.WatchEventsResponse) error {
		log.add(resp)
		if len(resp.Events) == 0 && log.responses > 1 {
			return nil
		}
		if len(log.names()) == total {
			return errDone
		}
		hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
		if err != nil {
			return err
		}
		want = append(want, hr.GetName())
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Watch returned %v, want it to carry on after the refusals", err)
	}
	log.check(t)
	if got := log.names(); !slices.Equal(got, want) {
		t.Errorf("events for %v,\nwant %v", got, want)
	}
}

// The first stream refused is still an answer to give at once: an app
// that opens more watches than its token may hold has a mistake to fix.
func TestWatchFirstStreamThrottledIsReturned(t *testing.T) {
	ref := &refuser{refuse: map[int64]error{0: withInfo(codes.ResourceExhausted, "too many streams", server.ReasonTooManyStreams, nil)}}
	s := newTestServer(t, ref.option())
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := c.Watch(ctx, client.WatchOptions{}, func(*pb.WatchEventsResponse) error { return nil })
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("first stream refused: Watch returned %v, want RESOURCE_EXHAUSTED", err)
	}
}

// A partner's program, restarted, reloads its view of its organisation
// with List calls (as CompactedError asks) and then watches. The reload
// spends its token's call rate, so the first stream is turned away
// (RATE_LIMITED): the call never ran, and every unary call the client
// makes waits that out. Watch returned it at once, as if the partner had
// a mistake to fix, and the program stopped at its start; it now waits,
// as it does for a reconnect, and the watch goes live.
func TestWatchFirstStreamRateLimitedWaits(t *testing.T) {
	for _, mustConnect := range []bool{false, true} {
		ref := &refuser{refuse: map[int64]error{0: withInfo(codes.ResourceExhausted, "too many calls with this token; slow down and retry shortly", server.ReasonRateLimited, nil)}}
		s := newTestServer(t, ref.option())
		c := s.client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := c.Watch(ctx, client.WatchOptions{MustConnect: mustConnect}, func(*pb.WatchEventsResponse) error { return errDone })
		cancel()
		if !errors.Is(err, errDone) {
			t.Errorf("MustConnect %v: first stream turned away for the call rate: Watch returned %v, want it to wait and go live", mustConnect, err)
		}
	}
}
