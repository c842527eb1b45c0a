package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

var errDone = errors.New("test: seen enough")

// ending is how a cut stream ends, as the client sees it.
type ending int

const (
	endUnavailable  ending = iota // the connection or server went away
	endEOF                        // the server ended the stream cleanly
	endSlowConsumer               // the server cut off a reader that fell behind
	endCompacted                  // the events asked for are gone
	// A proxy between (nginx, HAProxy) cut the stream, thinking it idle:
	// it resets it, or closes it without trailers, and gRPC says INTERNAL
	// in its own words, with none of the server's details.
	endProxyReset
	endProxyNoTrailers
	endServerInternal // the server's own INTERNAL: a fault, with an incident
)

// cutter breaks WatchEvents streams on the server side: stream k (from 0)
// of plan sends after messages, then drops the next and ends as plan[k]
// says. Streams past the plan run untouched.
type cutter struct {
	after int
	plan  []ending

	mu       sync.Mutex
	requests []*pb.WatchEventsRequest
}

func (c *cutter) option() grpc.ServerOption { return grpc.ChainStreamInterceptor(c.stream) }

func (c *cutter) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != pb.EventService_WatchEvents_FullMethodName {
		return handler(srv, ss)
	}
	c.mu.Lock()
	k := len(c.requests)
	c.requests = append(c.requests, nil)
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	w := &cutStream{ServerStream: ss, ctx: ctx, cancel: cancel, k: k, c: c}
	if k >= len(c.plan) {
		w.left.Store(1 << 30)
		return handler(srv, w)
	}
	w.left.Store(int64(c.after))
	if c.plan[k] == endCompacted {
		return withInfo(codes.OutOfRange, "events compacted", "EVENTS_COMPACTED", map[string]string{"oldest_revision": "42"})
	}
	err := handler(srv, w)
	if !w.cut.Load() {
		return err
	}
	switch c.plan[k] {
	case endEOF:
		return nil
	case endSlowConsumer:
		return withInfo(codes.ResourceExhausted, "slow", "SLOW_CONSUMER", map[string]string{"resume_revision": "1"})
	case endProxyReset:
		return status.Error(codes.Internal, "stream terminated by RST_STREAM with error code: INTERNAL_ERROR")
	case endProxyNoTrailers:
		return status.Error(codes.Internal, "server closed the stream without sending trailers")
	case endServerInternal:
		return withInfo(codes.Internal, "internal error; quote incident 0123abcd", server.ReasonInternal, map[string]string{"incident": "0123abcd"})
	}
	return status.Error(codes.Unavailable, "test: connection dropped")
}

// starts returns the start revision each stream asked for, in order.
func (c *cutter) starts() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for _, r := range c.requests {
		out = append(out, r.GetStartRevision())
	}
	return out
}

func withInfo(code codes.Code, msg, reason string, meta map[string]string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "doorstep.v1", Metadata: meta})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

type cutStream struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelFunc
	k      int
	c      *cutter
	left   atomic.Int64
	cut    atomic.Bool
}

func (s *cutStream) Context() context.Context { return s.ctx }

func (s *cutStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if req, ok := m.(*pb.WatchEventsRequest); ok && err == nil {
		s.c.mu.Lock()
		s.c.requests[s.k] = req
		s.c.mu.Unlock()
	}
	return err
}

// SendMsg is called from the server's sender goroutine.
func (s *cutStream) SendMsg(m any) error {
	if s.left.Add(-1) < 0 {
		s.cut.Store(true)
		s.cancel()
		return status.Error(codes.Unavailable, "test: cut")
	}
	return s.ServerStream.SendMsg(m)
}

// eventLog checks what a Watch delivers.
type eventLog struct {
	mu        sync.Mutex
	events    []*pb.Event
	responses int
	empty     int
	last      int64 // Revision of the last response
	problems  []string
}

func (l *eventLog) add(resp *pb.WatchEventsResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.responses > 0 && resp.GetRevision() < l.last {
		l.problems = append(l.problems, fmt.Sprintf("response revision went back from %d to %d", l.last, resp.GetRevision()))
	}
	for _, ev := range resp.GetEvents() {
		if n := len(l.events); n > 0 && ev.GetRevision() <= l.events[n-1].GetRevision() {
			l.problems = append(l.problems, fmt.Sprintf("event revision %d after %d", ev.GetRevision(), l.events[n-1].GetRevision()))
		}
		if ev.GetRevision() > resp.GetRevision() {
			l.problems = append(l.problems, fmt.Sprintf("event revision %d in a response through %d", ev.GetRevision(), resp.GetRevision()))
		}
	}
	l.responses++
	if len(resp.GetEvents()) == 0 {
		l.empty++
	}
	l.last = resp.GetRevision()
	l.events = append(l.events, resp.GetEvents()...)
}

func (l *eventLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.events {
		out = append(out, ev.GetHelpRequest())
	}
	return out
}

func (l *eventLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.problems {
		t.Error(p)
	}
}

var created = []pb.Event_Type{pb.Event_TYPE_HELP_REQUEST_CREATED}

// Each request is created only once the event of the one before has
// arrived, so that every stream carries events and every cut drops one:
// the test sees a gap if a resume starts too late and a duplicate if it
// starts too early.
func TestWatchResumesAfterBrokenStreams(t *testing.T) {
	cut := &cutter{after: 2, plan: []ending{endUnavailable, endEOF, endSlowConsumer, endUnavailable, endProxyReset, endProxyNoTrailers}}
	s := newTestServer(t, cut.option())
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	const total = 8
	var log eventLog
	var want []string
	create := func() error {
		hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
		if err != nil {
			return err
		}
		want = append(want, hr.GetName())
		return nil
	}
	err := c.Watch(ctx, client.WatchOptions{Types: created}, func(resp *pb.WatchEventsResponse) error {
		log.add(resp)
		if len(resp.Events) == 0 && log.responses > 1 {
			return nil
		}
		if len(log.names()) == total {
			return errDone
		}
		return create()
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Watch returned %v, want the callback's error", err)
	}
	log.check(t)
	if got := log.names(); !slices.Equal(got, want) {
		t.Errorf("events for %v,\nwant %v", got, want)
	}
	if log.empty != 1 {
		t.Errorf("callback had %d responses without events, want 1 (the first)", log.empty)
	}
	starts := cut.starts()
	if len(starts) != len(cut.plan)+1 {
		t.Fatalf("%d streams opened, want %d", len(starts), len(cut.plan)+1)
	}
	if starts[0] != 0 {
		t.Errorf("first stream started at %d, want 0", starts[0])
	}
	// Each resume starts one past the event the previous stream delivered.
	log.mu.Lock()
	for i, start := range starts[1:] {
		if wantStart := log.events[i].GetRevision() + 1; start != wantStart {
			t.Errorf("stream %d started at %d, want %d", i+1, start, wantStart)
		}
	}
	log.mu.Unlock()
}

// The server's own INTERNAL is a fault, not a broken stream: the watch
// ends with it, incident and all, rather than asking again for ever.
func TestWatchEndsAtServerInternal(t *testing.T) {
	cut := &cutter{after: 1, plan: []ending{endServerInternal}}
	s := newTestServer(t, cut.option())
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "")); err != nil {
		t.Fatal(err)
	}
	err := c.Watch(ctx, client.WatchOptions{StartRevision: 1}, func(*pb.WatchEventsResponse) error { return nil })
	if status.Code(err) != codes.Internal || client.Reason(err) != server.ReasonInternal {
		t.Errorf("Watch returned %v, want the server's INTERNAL", err)
	}
	if n := len(cut.starts()); n != 1 {
		t.Errorf("%d streams opened, want 1", n)
	}
}

func TestWatchFromStartRevisionAndResumeLater(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var want []string
	createN := func(n int) {
		for range n {
			hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, hr.GetName())
		}
	}
	createN(3)
	// Another organisation's request, which the filter hides.
	if _, err := c.CreateHelpRequest(ctx, helpRequest("torry-food-bank", "")); err != nil {
		t.Fatal(err)
	}

	var first eventLog
	watchUntil := func(l *eventLog, start int64, n int) {
		t.Helper()
		err := c.Watch(ctx, client.WatchOptions{StartRevision: start, Types: created, Organisation: "aberdeen-mutual-aid"}, func(resp *pb.WatchEventsResponse) error {
			l.add(resp)
			if len(l.names()) >= n {
				return errDone
			}
			return nil
		})
		if !errors.Is(err, errDone) {
			t.Fatalf("Watch: %v", err)
		}
		l.check(t)
	}
	watchUntil(&first, 1, 3)
	if got := first.names(); !slices.Equal(got, want) {
		t.Errorf("from revision 1: %v, want %v", got, want)
	}

	// Resuming from the last response handled sees only what came later.
	before := len(want)
	createN(2)
	var second eventLog
	watchUntil(&second, first.last+1, 2)
	if got := second.names(); !slices.Equal(got, want[before:]) {
		t.Errorf("resumed: %v, want %v", got, want[before:])
	}
	if second.responses == 0 {
		t.Fatal("no responses")
	}
}

func TestWatchResumesAcrossServerRestart(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t, client.WithRetry(30, 10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	const total = 6
	var log eventLog
	arrived := make(chan int, total+1)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, client.WatchOptions{Types: created}, func(resp *pb.WatchEventsResponse) error {
			log.add(resp)
			n := len(log.names())
			arrived <- n
			if n == total {
				return errDone
			}
			return nil
		})
	}()
	waitFor := func(n int) {
		t.Helper()
		for {
			select {
			case got := <-arrived:
				if got >= n {
					return
				}
			case err := <-done:
				t.Fatalf("Watch ended early: %v", err)
			case <-ctx.Done():
				t.Fatalf("waiting for %d events: %v", n, ctx.Err())
			}
		}
	}
	var want []string
	create := func() {
		t.Helper()
		hr, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, hr.GetName())
	}
	waitFor(0) // the first response: the watch is live
	for range 3 {
		create()
	}
	waitFor(3)
	if err := s.restart(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		create()
	}
	if err := <-done; !errors.Is(err, errDone) {
		t.Fatalf("Watch: %v", err)
	}
	log.check(t)
	if got := log.names(); !slices.Equal(got, want) {
		t.Errorf("events for %v,\nwant %v", got, want)
	}
}

func TestWatchReturnsCompactedError(t *testing.T) {
	cut := &cutter{plan: []ending{endCompacted}}
	s := newTestServer(t, cut.option())
	c := s.client(t)
	calls := 0
	err := c.Watch(context.Background(), client.WatchOptions{StartRevision: 7}, func(*pb.WatchEventsResponse) error {
		calls++
		return nil
	})
	var ce *client.CompactedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *CompactedError", err, err)
	}
	if ce.Oldest != 42 || ce.Requested != 7 {
		t.Errorf("CompactedError = %+v, want Oldest 42, Requested 7", *ce)
	}
	if status.Code(err) != codes.OutOfRange {
		t.Errorf("status.Code = %v, want OUT_OF_RANGE", status.Code(err))
	}
	if calls != 0 || len(cut.starts()) != 1 {
		t.Errorf("%d callbacks, %d streams: OUT_OF_RANGE must not be retried", calls, len(cut.starts()))
	}
}

func TestWatchGivesUpAndStopsOnCancel(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	never := func(*pb.WatchEventsResponse) error { return errors.New("no response expected") }

	start := time.Now()
	err := c.Watch(context.Background(), client.WatchOptions{GiveUpAfter: 200 * time.Millisecond}, never)
	if status.Code(err) != codes.Unavailable {
		t.Errorf("with the server down: %v, want UNAVAILABLE", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 10*time.Second {
		t.Errorf("gave up after %v, want about 200ms", took)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	err = c.Watch(ctx, client.WatchOptions{GiveUpAfter: -1}, never)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v, want context.Canceled", err)
	}
}

func TestWatchRejectsBadOptions(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	ctx := context.Background()
	if err := c.Watch(ctx, client.WatchOptions{}, nil); err == nil {
		t.Error("Watch with no callback succeeded")
	}
	if err := c.Watch(ctx, client.WatchOptions{StartRevision: -1}, func(*pb.WatchEventsResponse) error { return nil }); err == nil {
		t.Error("Watch from revision -1 succeeded")
	}
	// The server's INVALID_ARGUMENT is an answer, not an outage.
	err := c.Watch(ctx, client.WatchOptions{Types: []pb.Event_Type{99}}, func(*pb.WatchEventsResponse) error { return nil })
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown event type: %v, want INVALID_ARGUMENT", err)
	}
}

// TestWatchSaysWhenItReconnects: OnConnection hears of each break of a
// stream that had answered, and of each new stream that answers, in turn;
// MustConnect gives up at once when the first stream cannot be opened,
// however long GiveUpAfter allows.
func TestWatchSaysWhenItReconnects(t *testing.T) {
	cut := &cutter{after: 1, plan: []ending{endUnavailable, endEOF}}
	s := newTestServer(t, cut.option())
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var said []string
	opts := client.WatchOptions{Types: created, GiveUpAfter: -1, MustConnect: true, OnConnection: func(err error) {
		if err != nil {
			said = append(said, "lost: "+status.Code(err).String())
		} else {
			said = append(said, "back")
		}
	}}
	made := 0
	err := c.Watch(ctx, opts, func(resp *pb.WatchEventsResponse) error {
		if made == 3 {
			return errDone
		}
		made++
		_, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", ""))
		return err
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Watch returned %v", err)
	}
	// A clean end of stream (EOF) carries no status: Unknown.
	if want := []string{"lost: Unavailable", "back", "lost: Unknown", "back"}; !slices.Equal(said, want) {
		t.Errorf("OnConnection heard %v, want %v", said, want)
	}

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Watch(ctx, client.WatchOptions{GiveUpAfter: -1, MustConnect: true}, func(*pb.WatchEventsResponse) error { return nil })
	if status.Code(err) != codes.Unavailable || time.Since(start) > 10*time.Second {
		t.Errorf("with the server down and MustConnect: %v after %v, want UNAVAILABLE at once", err, time.Since(start))
	}
}

// A resume point past the server's log (its data restored from an older
// copy) is a reload, as compaction is, and says which it is.
func TestWatchPastTheLogIsReload(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	err := c.Watch(context.Background(), client.WatchOptions{StartRevision: 1000}, func(*pb.WatchEventsResponse) error { return nil })
	var ce *client.CompactedError
	if !errors.As(err, &ce) || !ce.Ahead || ce.Requested != 1000 || ce.Oldest < 1 {
		t.Fatalf("err = %v (%+v), want a *CompactedError, Ahead, from 1000, with the log's start", err, ce)
	}
	if !strings.Contains(err.Error(), "past the server's log") {
		t.Errorf("err %q does not say what happened", err)
	}
}

// An app told to reload watches again from CompactedError.From: one past
// the server's revision when it said so, which the log keeps however long
// the reload takes, not the log's oldest revision, which the server's
// sweeps compact away meanwhile. A server that gives no current revision
// leaves Oldest.
func TestCompactedErrorSaysWhereToWatchAfterReload(t *testing.T) {
	s := newTestServer(t)
	c := s.client(t)
	ctx := context.Background()
	if _, err := c.CreateHelpRequest(ctx, helpRequest("aberdeen-mutual-aid", "")); err != nil {
		t.Fatal(err)
	}
	err := c.Watch(ctx, client.WatchOptions{StartRevision: 1000}, func(*pb.WatchEventsResponse) error { return nil })
	var ce *client.CompactedError
	if !errors.As(err, &ce) {
		t.Fatalf("watch from past the log: %v, want a *CompactedError", err)
	}
	if ce.Current < ce.Oldest-1 || ce.Current < 1 || ce.From() != ce.Current+1 {
		t.Fatalf("CompactedError %+v, From %d: want the server's current revision, and to watch from one past it", *ce, ce.From())
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("watch from %d", ce.From())) {
		t.Errorf("err %q does not say to watch from %d", err, ce.From())
	}
	// After the reload, the watch from there opens where the view stands.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first int64 = -1
	err = c.Watch(wctx, client.WatchOptions{StartRevision: ce.From(), MustConnect: true}, func(r *pb.WatchEventsResponse) error {
		first = r.GetRevision()
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || first != ce.Current {
		t.Errorf("watch from %d: first response at %d, ended with %v; want it at %d", ce.From(), first, err, ce.Current)
	}

	old := &client.CompactedError{Oldest: 42}
	if old.From() != 42 {
		t.Errorf("From of an error without the current revision = %d, want Oldest (42)", old.From())
	}
}
