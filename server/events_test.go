package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// watcher collects one stream's responses on a goroutine of its own.
type watcher struct {
	mu     sync.Mutex
	resps  []*pb.WatchEventsResponse
	err    error
	done   chan struct{}
	cancel context.CancelFunc
}

func (h *harness) watch(client pb.EventServiceClient, req *pb.WatchEventsRequest) *watcher {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.ctx)
	stream, err := client.WatchEvents(ctx, req)
	if err != nil {
		cancel()
		h.t.Fatalf("watch: %v", err)
	}
	w := &watcher{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(w.done)
		for {
			r, err := stream.Recv()
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			w.resps = append(w.resps, r)
			w.mu.Unlock()
		}
	}()
	h.t.Cleanup(func() { cancel(); <-w.done })
	return w
}

// events returns the events received so far and the last revision told.
func (w *watcher) events() ([]*pb.Event, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*pb.Event
	var rev int64 = -1
	for _, r := range w.resps {
		out = append(out, r.Events...)
		rev = r.Revision
	}
	return out, rev
}

// waitFor waits until the stream has been told it is through rev, or ends.
func (w *watcher) waitFor(t testing.TB, rev int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, got := w.events(); got >= rev {
			return
		}
		select {
		case <-w.done:
			t.Fatalf("stream ended waiting for revision %d: %v", rev, w.err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	_, got := w.events()
	t.Fatalf("stream reached revision %d, want %d", got, rev)
}

// wait waits for the stream to end and returns its error.
func (w *watcher) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-w.done:
		return w.err
	case <-time.After(15 * time.Second):
		t.Fatal("stream did not end")
		return nil
	}
}

func (h *harness) revision() int64 {
	h.t.Helper()
	rev, err := h.st.Revision()
	if err != nil {
		h.t.Fatal(err)
	}
	return int64(rev)
}

// logged is every event in the store from revision from.
func (h *harness) logged(from int64) []*pb.Event {
	h.t.Helper()
	var out []*pb.Event
	for pos := uint64(from); ; {
		page, err := h.st.ReadEvents(h.ctx, pos, 500)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, page.Events...)
		pos = page.Through + 1
		if !page.More {
			return out
		}
	}
}

func eventKeys(evs []*pb.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d %v %s%s%s", e.Revision, e.Type, e.HelpRequest, e.Volunteer, e.Offer)
	}
	return out
}

func statusMeta(t *testing.T, err error, key string) string {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Metadata[key]
		}
	}
	t.Fatalf("%v has no ErrorInfo", err)
	return ""
}

func TestWatchEventsHistoryThenLive(t *testing.T) {
	h := newHarness(t)
	first := h.createHR(validHelpRequest())
	v := h.createVol(validVolunteer())
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: 1})
	h.waitFor(w, h.revision())

	// Live changes arrive as they commit.
	upd := proto1(first)
	upd.Details = "changed"
	if _, err := h.hr.UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{HelpRequest: upd}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: v.Name}); err != nil {
		t.Fatal(err)
	}
	h.waitFor(w, h.revision())

	got, _ := w.events()
	want := h.logged(1)
	if !slices.Equal(eventKeys(got), eventKeys(want)) {
		t.Errorf("stream:\n%q\nlog:\n%q", eventKeys(got), eventKeys(want))
	}
	types := []pb.Event_Type{}
	for _, e := range got {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []pb.Event_Type{pb.Event_TYPE_HELP_REQUEST_CREATED, pb.Event_TYPE_VOLUNTEER_CREATED,
		pb.Event_TYPE_HELP_REQUEST_UPDATED, pb.Event_TYPE_VOLUNTEER_DELETED}) {
		t.Errorf("types %v", types)
	}
	w.mu.Lock()
	firstResp := w.resps[0]
	w.mu.Unlock()
	if len(firstResp.Events) != 0 || firstResp.Revision != 0 {
		t.Errorf("first response %v, want no events at revision 0", firstResp)
	}
}

func (h *harness) waitFor(w *watcher, rev int64) { h.t.Helper(); w.waitFor(h.t, rev) }

func proto1(hr *pb.HelpRequest) *pb.HelpRequest {
	return &pb.HelpRequest{Name: hr.Name, Details: hr.Details, Etag: hr.Etag}
}

func TestWatchEventsFromNow(t *testing.T) {
	h := newHarness(t)
	h.createHR(validHelpRequest())
	before := h.revision()
	w := h.watch(h.ev, &pb.WatchEventsRequest{})
	h.waitFor(w, before) // the first response says where the stream starts
	hr := h.createHR(validHelpRequest())
	h.waitFor(w, h.revision())
	got, _ := w.events()
	if len(got) != 1 || got[0].HelpRequest != hr.Name || got[0].Revision != before+1 {
		t.Errorf("from now: %q", eventKeys(got))
	}
}

// TestWatchResumeAcrossRestart breaks a stream by restarting the server on
// the same file, keeps writing, and resumes from the last revision seen:
// the two streams together must be exactly the log.
func TestWatchResumeAcrossRestart(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		h.createHR(validHelpRequest())
	}
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: 1})
	h.waitFor(w, h.revision())
	h.reopen()
	if err := w.wait(t); status.Code(err) != codes.Unavailable && status.Code(err) != codes.Canceled {
		t.Logf("stream ended with %v", err)
	}
	seen, last := w.events()
	for range 4 {
		h.createHR(validHelpRequest())
	}
	w2 := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: last + 1})
	h.createVol(validVolunteer())
	h.waitFor(w2, h.revision())
	more, _ := w2.events()
	all := append(seen, more...)
	if got, want := eventKeys(all), eventKeys(h.logged(1)); !slices.Equal(got, want) {
		t.Errorf("resumed streams:\n%q\nlog:\n%q", got, want)
	}
}

func TestWatchEventsFilters(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(20*time.Millisecond, time.Minute))
	other := validHelpRequest()
	other.Organisation = "other-org"
	byType := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: 1, Types: []pb.Event_Type{pb.Event_TYPE_VOLUNTEER_CREATED}})
	byOrg := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: 1, Organisation: "Other-Org"})
	h.createHR(validHelpRequest())
	v := h.createVol(validVolunteer())
	o := h.createHR(other)
	h.createHR(validHelpRequest())
	rev := h.revision()
	// Progress responses carry both streams to the end although their
	// filters hide the last change.
	h.waitFor(byType, rev)
	h.waitFor(byOrg, rev)
	if got, _ := byType.events(); len(got) != 1 || got[0].Volunteer != v.Name {
		t.Errorf("type filter: %q", eventKeys(got))
	}
	if got, _ := byOrg.events(); len(got) != 1 || got[0].HelpRequest != o.Name || got[0].Organisation != "other-org" {
		t.Errorf("organisation filter: %q", eventKeys(got))
	}
}

func TestWatchEventsInvalid(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name  string
		req   *pb.WatchEventsRequest
		field string
	}{
		{"negative start", &pb.WatchEventsRequest{StartRevision: -1}, "start_revision"},
		{"unspecified type", &pb.WatchEventsRequest{Types: []pb.Event_Type{pb.Event_TYPE_OFFER_CREATED, 0}}, "types[1]"},
		{"unknown type", &pb.WatchEventsRequest{Types: []pb.Event_Type{99}}, "types[0]"},
		{"bad organisation", &pb.WatchEventsRequest{Organisation: "no spaces allowed"}, "organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := h.ev.WatchEvents(h.ctx, tt.req)
			if err == nil {
				_, err = stream.Recv()
			}
			code, _, fields := errorOf(t, err)
			if code != codes.InvalidArgument || !slices.Equal(fields, []string{tt.field}) {
				t.Errorf("got %v %v, want INVALID_ARGUMENT on %s", code, fields, tt.field)
			}
		})
	}
}

func TestWatchEventsCompacted(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		h.createHR(validHelpRequest())
	}
	if _, err := h.st.CompactEvents(h.ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	oldest := h.revision() + 1
	stream, err := h.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{StartRevision: 2})
	if err == nil {
		_, err = stream.Recv()
	}
	code, reason, _ := errorOf(t, err)
	if code != codes.OutOfRange || reason != server.ReasonEventsCompacted {
		t.Fatalf("compacted start: %v", err)
	}
	if got := statusMeta(t, err, "oldest_revision"); got != strconv.FormatInt(oldest, 10) {
		t.Errorf("oldest_revision %q, want %d", got, oldest)
	}
	// From the oldest revision on, the stream works.
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: oldest})
	hr := h.createHR(validHelpRequest())
	h.waitFor(w, h.revision())
	if got, _ := w.events(); len(got) != 1 || got[0].HelpRequest != hr.Name {
		t.Errorf("after compaction: %q", eventKeys(got))
	}
}

func TestSweepCompactsOldEvents(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithEventRetention(24*time.Hour))
	h.createHR(validHelpRequest())
	h.createHR(validHelpRequest())
	h.srv.Sweep(h.ctx)
	if oldest, _ := h.st.OldestEventRevision(); oldest != 1 {
		t.Fatalf("a sweep within the retention compacted up to %d", oldest)
	}
	clock.advance(25 * time.Hour)
	v := h.createVol(validVolunteer())
	h.srv.Sweep(h.ctx)
	if oldest, _ := h.st.OldestEventRevision(); strconv.FormatUint(oldest, 10) != v.Etag {
		t.Errorf("after the retention the log starts at %d, want %s", oldest, v.Etag)
	}
}

// TestWatchSlowConsumer opens a stream with the smallest flow-control
// windows and does not read it while thousands of changes are made (about
// 350 kB of events, more than the windows and gRPC's write quota hold). The
// server must end that stream with SLOW_CONSUMER and where to resume,
// while another stream keeps up; resuming from there misses nothing.
func TestWatchSlowConsumer(t *testing.T) {
	h := newHarnessWithClock(t, nil, server.WithWatchTimings(time.Hour, 300*time.Millisecond))
	start := h.revision() + 1
	slowConn := h.dial(grpc.WithPerRPCCredentials(bearerToken(h.adminSecret)), grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
	defer cancel()
	slow, err := pb.NewEventServiceClient(slowConn).WatchEvents(ctx, &pb.WatchEventsRequest{StartRevision: start})
	if err != nil {
		t.Fatal(err)
	}
	fast := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: start})

	const n = 4000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			v := validVolunteer()
			v.Contact.Phone = fmt.Sprintf("07700 9%05d", i)
			_, err := h.st.CreateVolunteer(h.ctx, v, store.Idempotency{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	end := h.revision()
	h.waitFor(fast, end)
	if got, _ := fast.events(); len(got) != n {
		t.Errorf("the fast stream got %d events, want %d", len(got), n)
	}

	// Read the slow stream once the server has given up on it; read
	// sooner, it would be a stream that kept up. A fixed wait could end
	// first on a slow machine.
	for deadline := time.Now().Add(time.Minute); h.logs.FilterMessage("event stream ended: slow consumer").Len() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not give up on the stream that stopped reading within a minute")
		}
	}
	var got []*pb.Event
	var last int64
	for {
		r, err := slow.Recv()
		if err != nil {
			if code, reason, _ := errorOf(t, err); code != codes.ResourceExhausted || reason != server.ReasonSlowConsumer {
				t.Fatalf("slow stream ended with %v", err)
			}
			resume, _ := strconv.ParseInt(statusMeta(t, err, "resume_revision"), 10, 64)
			// Whose app stopped reading: one of thirty groups' is the
			// operator's question, and the token's name answers it.
			if lines := h.logs.FilterMessage("event stream ended: slow consumer").All(); len(lines) != 1 ||
				!strings.HasPrefix(fmt.Sprint(lines[0].ContextMap()["token"]), "tokens/") || lines[0].ContextMap()["role"] != "admin" {
				t.Errorf("slow consumer lines %v, want one naming the stream's token and role", lines)
			}
			if resume > last+1 || resume < 1 {
				t.Fatalf("resume_revision %d after receiving through %d", resume, last)
			}
			last = resume - 1
			break
		}
		got = append(got, r.Events...)
		last = r.Revision
	}
	if len(got) >= n {
		t.Fatalf("the slow stream received all %d events: it was never slow", len(got))
	}
	// Drop anything received past the resume point, then resume.
	got = slices.DeleteFunc(got, func(e *pb.Event) bool { return e.Revision > last })
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: last + 1})
	h.waitFor(w, end)
	more, _ := w.events()
	if all := append(got, more...); !slices.Equal(eventKeys(all), eventKeys(h.logged(start))) {
		t.Errorf("slow stream and its resumption hold %d events, want the %d logged", len(all), n)
	}
}

func TestDrainEndsStreams(t *testing.T) {
	h := newHarness(t)
	h.createHR(validHelpRequest())
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: 1})
	h.waitFor(w, h.revision())
	h.srv.Drain()
	err := w.wait(t)
	code, reason, _ := errorOf(t, err)
	if code != codes.Unavailable || reason != server.ReasonShuttingDown {
		t.Fatalf("drained stream: %v", err)
	}
	if got := statusMeta(t, err, "resume_revision"); got != strconv.FormatInt(h.revision()+1, 10) {
		t.Errorf("resume_revision %s, want %d", got, h.revision()+1)
	}
	if errors.Is(err, io.EOF) {
		t.Error("drained stream ended cleanly")
	}
}

// TestWatchCancelIsNotAnError checks that a client hanging up, the normal
// end of a watch, is not logged as a server error.
func TestWatchCancelIsNotAnError(t *testing.T) {
	h := newHarness(t)
	w := h.watch(h.ev, &pb.WatchEventsRequest{})
	h.waitFor(w, 0)
	w.cancel()
	_ = w.wait(t)
	deadline := time.Now().Add(5 * time.Second)
	for h.logs.FilterMessage("stream").Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, e := range h.logs.FilterMessage("stream").All() {
		if e.Level >= zapcore.ErrorLevel {
			t.Errorf("a cancelled watch was logged as %v: %v", e.Level, e.ContextMap())
		}
	}
	if h.logs.FilterMessage("stream").Len() == 0 {
		t.Error("the stream's end was not logged")
	}
}

// Calls run on a pool of StreamWorkers goroutines, and a watch holds its
// worker for as long as it is open: with more watches open than there are
// workers, calls and new watches are still served, and every watch still
// hears of a change.
func TestWatchesOutnumberingWorkersDoNotStarveCalls(t *testing.T) {
	// There are 32 workers a core: from 7 cores on, more watches than one
	// token's burst of calls, and from 32 more than the 1000 streams a
	// connection carries (NewGRPCServer). The limit is lifted and the
	// watches spread over connections, so that only the workers run out.
	const streamsPerConn = 1000
	n := int(server.StreamWorkers()) + 4
	h := newHarnessWithClock(t, nil, server.WithMaxStreams(n), server.WithRateLimit(0, 0))
	h.createHR(validHelpRequest())
	before := h.revision()
	var ws []*watcher
	var ev pb.EventServiceClient
	for i := range n {
		if i%streamsPerConn == 0 {
			ev = pb.NewEventServiceClient(h.dial(grpc.WithPerRPCCredentials(bearerToken(h.adminSecret))))
		}
		w := h.watch(ev, &pb.WatchEventsRequest{})
		ws = append(ws, w)
	}
	for _, w := range ws {
		w.waitFor(t, before) // its first response: its handler holds a worker
	}
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	resp, err := h.hr.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: validHelpRequest()})
	if err != nil {
		t.Fatalf("a call with every worker held by a watch: %v", err)
	}
	hr := resp.GetHelpRequest()
	for i, w := range ws {
		w.waitFor(t, h.revision())
		got, _ := w.events()
		if len(got) != 1 || got[0].HelpRequest != hr.Name {
			t.Fatalf("watch %d heard %v, want the creation of %s", i, eventKeys(got), hr.Name)
		}
	}
}
