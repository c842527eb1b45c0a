package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// stallingStore holds GetHelpRequest until the call's context is done
// (stall), or panics in it (panics), so that a call can be cancelled by
// its client, outlive its deadline or panic at a known point.
type stallingStore struct {
	store.Store
	stall, panics atomic.Bool
	entered       chan struct{}
}

func (s *stallingStore) GetHelpRequest(ctx context.Context, id string) (*pb.HelpRequest, error) {
	if s.panics.Load() {
		panic("metrics audit: a handler's bug")
	}
	if s.stall.Load() {
		select {
		case s.entered <- struct{}{}:
		default: // one already waits to be read
		}
		<-ctx.Done()
		return nil, fmt.Errorf("store: get help request: %w", ctx.Err())
	}
	return s.Store.GetHelpRequest(ctx, id)
}

// newMeteredStalling is newMetered with its store behind a stallingStore.
func newMeteredStalling(t *testing.T, opts ...server.Option) (*metered, *stallingStore) {
	t.Helper()
	m := server.NewMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m)
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(web.Close)
	stalling := &stallingStore{entered: make(chan struct{}, 1)}
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "doorstep.db"), ctx: context.Background(), start: time.Now(),
		opts: append(opts, server.WithMetrics(m))}
	h.wrap = func(st store.Store) store.Store { stalling.Store = st; return stalling }
	h.startServing()
	return &metered{harness: h, scrapeURL: web.URL}, stalling
}

// callTotals sums, over every series, the calls counted and the calls
// timed: a call is counted once, and timed once, whatever its code. The
// test's own calls making tokens are left out.
func callTotals(got map[string]float64) (handled, timed float64) {
	for series, v := range got {
		switch {
		case strings.Contains(series, `grpc_method="CreateToken"`):
		case strings.HasPrefix(series, "grpc_server_handled_total{"):
			handled += v
		case strings.HasPrefix(series, "grpc_server_handling_seconds_count{"):
			timed += v
		}
	}
	return handled, timed
}

// TestMetricsCountEachCallOnceByItsCode makes each kind of answer happen
// three times, from a success to every refusal an operator alerts on (no
// token, an unknown one, the role's, bad input, a missing record, a stale
// etag, a wrong state, the rate limit) and the calls that end without an
// answer of the server's own (the client cancelled, the deadline passed,
// a handler panicked), and checks that exactly that series moved by
// exactly three, and the totals, counted and timed, by three too: nothing
// counted twice, under another code, or not at all.
func TestMetricsCountEachCallOnceByItsCode(t *testing.T) {
	const n = 3
	// A token may make burst calls, then is refused for a long while: the
	// harness's own (which makes every case's tokens) never reaches it.
	const burst = 64
	h, stalling := newMeteredStalling(t, server.WithRateLimit(0.0001, burst))
	hr := h.createHR(shopping())
	cancelled := h.createHR(shopping(callerPhone("01224 000001")))
	if _, err := h.match.CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: cancelled.Name}); err != nil {
		t.Fatal(err)
	}
	admin := pb.NewAdminServiceClient(h.conn)
	// Each call comes with a token of its own, of the role given.
	token := func(t *testing.T, role pb.Role) *grpc.ClientConn {
		tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "audit", Role: role}})
		if err != nil {
			t.Fatal(err)
		}
		return h.as(tok.Secret)
	}

	type call func(t *testing.T) error
	get := func(conn func(*testing.T) *grpc.ClientConn, name string) call {
		return func(t *testing.T) error {
			_, err := pb.NewHelpRequestServiceClient(conn(t)).GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: name})
			return err
		}
	}
	coordinator := func(t *testing.T) *grpc.ClientConn { return token(t, pb.Role_ROLE_COORDINATOR) }
	// stalled calls GetHelpRequest and holds it in the store until its
	// client cancels it, as soon as the store has it (deadline 0), or
	// until its deadline passes.
	stalled := func(deadline time.Duration) call {
		return func(t *testing.T) error {
			stalling.stall.Store(true)
			defer stalling.stall.Store(false)
			ctx, cancel := context.WithCancel(h.ctx)
			defer cancel()
			if deadline > 0 {
				ctx, cancel = context.WithTimeout(ctx, deadline)
				defer cancel()
			}
			conn := coordinator(t)
			errc := make(chan error, 1)
			go func() {
				_, err := pb.NewHelpRequestServiceClient(conn).GetHelpRequest(ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
				errc <- err
			}()
			select {
			case <-stalling.entered:
			case err := <-errc:
				return err // ended before the store had it: a slow machine
			}
			if deadline == 0 {
				cancel()
			}
			return <-errc
		}
	}
	for _, tc := range []struct {
		name    string
		call    call
		code    codes.Code
		service string
		method  string
	}{
		{"ok", get(coordinator, hr.Name), codes.OK, "HelpRequestService", "GetHelpRequest"},
		{"no token", get(func(*testing.T) *grpc.ClientConn { return h.as("") }, hr.Name), codes.Unauthenticated, "HelpRequestService", "GetHelpRequest"},
		{"unknown token", get(func(*testing.T) *grpc.ClientConn { return h.as("not-a-token") }, hr.Name), codes.Unauthenticated, "HelpRequestService", "GetHelpRequest"},
		{"role", func(t *testing.T) error {
			_, err := pb.NewAdminServiceClient(token(t, pb.Role_ROLE_HELPLINE)).CreateBackup(h.ctx, &pb.CreateBackupRequest{})
			return err
		}, codes.PermissionDenied, "AdminService", "CreateBackup"},
		{"bad input", get(coordinator, "helpRequests/not an id"), codes.InvalidArgument, "HelpRequestService", "GetHelpRequest"},
		{"missing", get(coordinator, "helpRequests/01hzzzzzzzzzzzzzzzzzzzzzzz"), codes.NotFound, "HelpRequestService", "GetHelpRequest"},
		{"stale etag", func(t *testing.T) error {
			_, err := pb.NewHelpRequestServiceClient(coordinator(t)).UpdateHelpRequest(h.ctx, &pb.UpdateHelpRequestRequest{
				HelpRequest: &pb.HelpRequest{Name: hr.Name, Etag: "W/\"stale\"", Details: "Milk"},
				UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"details"}},
			})
			return err
		}, codes.Aborted, "HelpRequestService", "UpdateHelpRequest"},
		{"wrong state", func(t *testing.T) error {
			_, err := pb.NewMatchingServiceClient(coordinator(t)).CancelHelpRequest(h.ctx, &pb.CancelHelpRequestRequest{Name: cancelled.Name})
			return err
		}, codes.FailedPrecondition, "MatchingService", "CancelHelpRequest"},
		{"rate limit", func(t *testing.T) error {
			conn := coordinator(t)
			c := pb.NewHelpRequestServiceClient(conn)
			// The token's calls are made by another method, so that
			// only the refusal is counted under this one.
			for range burst {
				if _, err := pb.NewVolunteerServiceClient(conn).ListVolunteers(h.ctx, &pb.ListVolunteersRequest{}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := c.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
			return err
		}, codes.ResourceExhausted, "HelpRequestService", "GetHelpRequest"},
		{"client cancelled", stalled(0), codes.Canceled, "HelpRequestService", "GetHelpRequest"},
		// The client's reset at its deadline reaches the server about when
		// the server's own timer runs out, and whichever comes first names
		// the end: Canceled or DeadlineExceeded, counted together below.
		{"deadline passed", stalled(300 * time.Millisecond), codes.DeadlineExceeded, "HelpRequestService", "GetHelpRequest"},
		{"panic", func(t *testing.T) error {
			stalling.panics.Store(true)
			defer stalling.panics.Store(false)
			return get(coordinator, hr.Name)(t)
		}, codes.Internal, "HelpRequestService", "GetHelpRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			series := handled(tc.service, tc.method, tc.code.String())
			timedSeries := `grpc_server_handling_seconds_count{grpc_method="` + tc.method + `",grpc_service="doorstep.v1.` + tc.service + `"}`
			before := samples(t, h.scrape())
			hb, tb := callTotals(before)
			// The rate limit case's own calls, made with another method.
			extra := 0.0
			if tc.code == codes.ResourceExhausted {
				extra = n * burst
			}
			for i := range n {
				if err := tc.call(t); status.Code(err) != tc.code {
					t.Fatalf("call %d: %v, want %v", i, err, tc.code)
				}
			}
			// A call whose client has gone is counted when its handler
			// returns, which may be a moment after the client heard, and
			// timed a moment after it is counted: a scrape in between
			// reads it counted and not timed.
			var after map[string]float64
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				after = samples(t, h.scrape())
				if ha, ta := callTotals(after); ha >= hb+n+extra && ta >= tb+n+extra || time.Now().After(deadline) {
					break
				}
			}
			moved := after[series] - before[series]
			if tc.code == codes.DeadlineExceeded {
				also := handled(tc.service, tc.method, codes.Canceled.String())
				moved += after[also] - before[also]
			}
			if moved != n {
				t.Errorf("%s moved by %v, want %d", series, moved, n)
			}
			if d := after[timedSeries] - before[timedSeries]; d != n {
				t.Errorf("%s moved by %v, want %d", timedSeries, d, n)
			}
			ha, ta := callTotals(after)
			if ha-hb != n+extra || ta-tb != n+extra {
				t.Errorf("calls counted moved by %v and timed by %v, want %v", ha-hb, ta-tb, n+extra)
			}
		})
	}
}

// TestMetricsUnknownMethodsMakeNoSeries: calls to methods and services
// the server does not have, with and without a token, whose names are the
// caller's text, leave the series a scrape shows as they were: each
// distinct name would otherwise be a series kept until the restart.
func TestMetricsUnknownMethodsMakeNoSeries(t *testing.T) {
	h := newMetered(t, nil)
	if _, err := healthpb.NewHealthClient(h.conn).Check(h.ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	names := func() map[string]bool {
		out := map[string]bool{}
		for series := range samples(t, h.scrape()) {
			if !strings.HasPrefix(series, "go_") && !strings.HasPrefix(series, "process_") {
				out[series] = true
			}
		}
		return out
	}
	before := names()
	for i := range 20 {
		for _, conn := range []*grpc.ClientConn{h.conn, h.as("")} {
			for _, method := range []string{
				fmt.Sprintf("/doorstep.v1.HelpRequestService/Zebedee%d", i),
				fmt.Sprintf("/quillfeather.v%d.Svc/Get", i),
				fmt.Sprintf("/grpc.health.v1.Health/Check%d", i),
			} {
				err := conn.Invoke(h.ctx, method, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
				if c := status.Code(err); c != codes.Unimplemented && c != codes.Unauthenticated {
					t.Fatalf("%s: %v", method, err)
				}
			}
		}
	}
	after := names()
	for s := range after {
		if !before[s] {
			t.Errorf("a call to an unknown method made series %s", s)
		}
	}
}

// TestMetricsVolunteersGaugeFollowsTheRecords: the volunteers in the
// matching index move with each create, pause, hold and delete as the
// README says: paused and held ones stay in, a deleted one goes.
func TestMetricsVolunteersGaugeFollowsTheRecords(t *testing.T) {
	h := newMetered(t, nil)
	var vols []*pb.Volunteer
	for i := range 4 {
		vols = append(vols, h.createVol(matchVolunteer(fmt.Sprintf("Vol %d", i), "AB10 1AB")))
	}
	h.want("made", map[string]float64{"doorstep_matching_volunteers": 4})
	for i, edit := range []func(v *pb.Volunteer) string{
		func(v *pb.Volunteer) string { v.Paused = true; return "paused" },
		func(v *pb.Volunteer) string { v.Held = true; return "held" },
	} {
		v := vols[i]
		path := edit(v)
		if _, err := h.vol.UpdateVolunteer(h.ctx, &pb.UpdateVolunteerRequest{Volunteer: v, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}}); err != nil {
			t.Fatal(err)
		}
	}
	h.want("paused and held", map[string]float64{"doorstep_matching_volunteers": 4})
	for _, v := range vols[2:] {
		if _, err := h.vol.DeleteVolunteer(h.ctx, &pb.DeleteVolunteerRequest{Name: v.Name}); err != nil {
			t.Fatal(err)
		}
	}
	h.want("two deleted", map[string]float64{"doorstep_matching_volunteers": 2})
}

// TestMetricsEventStreamsOpenAfterDrain: the server's stop ends every
// event stream, and the gauge of open streams, which a scrape during the
// stop reads, comes back to 0 with each counted as ended once.
func TestMetricsEventStreamsOpenAfterDrain(t *testing.T) {
	h := newMetered(t, nil)
	const n = 3
	var streams []pb.EventService_WatchEventsClient
	for range n {
		s, err := h.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil { // the first progress: open
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	h.want("open", map[string]float64{"doorstep_event_streams_open": n})
	h.srv.Drain()
	for _, s := range streams {
		for {
			if _, err := s.Recv(); err != nil {
				break
			}
		}
	}
	var got map[string]float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got = samples(t, h.scrape()); got["doorstep_event_streams_open"] == 0 {
			break
		}
	}
	ended := 0.0
	for series, v := range got {
		if strings.HasPrefix(series, "grpc_server_handled_total{") && strings.Contains(series, `grpc_method="WatchEvents"`) {
			ended += v
		}
	}
	if got["doorstep_event_streams_open"] != 0 || ended != n {
		t.Errorf("after the drain: %v open, %v ended; want 0 and %d", got["doorstep_event_streams_open"], ended, n)
	}
}

// TestMetricsSweepCountsByUrgency: requests of each urgency left to
// expire, a different number of each, are counted under their own word,
// by exactly as many.
func TestMetricsSweepCountsByUrgency(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newMetered(t, clock)
	want := map[string]float64{}
	for u, n := range map[pb.Urgency]int{pb.Urgency_URGENCY_LOW: 1, pb.Urgency_URGENCY_NORMAL: 2, pb.Urgency_URGENCY_HIGH: 3, pb.Urgency_URGENCY_CRITICAL: 4} {
		for i := range n {
			h.createHR(shopping(callerPhone(fmt.Sprintf("01224 %06d", int(u)*10+i)), func(r *pb.HelpRequest) { r.Urgency = u }))
		}
		word := strings.ToLower(strings.TrimPrefix(u.String(), "URGENCY_"))
		want[`doorstep_sweep_requests_expired_total{urgency="`+word+`"}`] = float64(n)
	}
	want[`doorstep_sweep_requests_expired_total{urgency="unspecified"}`] = 0
	clock.advance(6 * time.Hour)
	h.srv.Sweep(h.ctx)
	h.want("swept", want)
}

// TestMetricsUrgentDispatchCounted: a critical request left open starts
// a dispatch run at once, counted as urgent, and as nothing else.
func TestMetricsUrgentDispatchCounted(t *testing.T) {
	h := newMetered(t, nil)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, time.Hour) }()
	defer func() { cancel(); <-done }()
	h.createHR(shopping(func(r *pb.HelpRequest) { r.Urgency = pb.Urgency_URGENCY_CRITICAL }))
	h.wantSoon("urgent", map[string]float64{
		`doorstep_dispatch_runs_total{trigger="urgent"}`:       1,
		`doorstep_dispatch_runs_total{trigger="rpc"}`:          0,
		`doorstep_dispatch_runs_total{trigger="interval"}`:     0,
		`doorstep_dispatch_requests_total{result="left_open"}`: 1, // nobody to offer it to
		"doorstep_dispatch_duration_seconds_count":             1,
	})
}

// wantSoon is want once every series holds its value, or after 10s: a
// run counts its series one after another as it ends, and a scrape
// between two of them (the run counted, its requests not yet) reads a
// run that took up nothing.
func (m *metered) wantSoon(what string, want map[string]float64) {
	m.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got, all := samples(m.t, m.scrape()), true
		for series, v := range want {
			all = all && got[series] == v
		}
		if all {
			break
		}
	}
	m.want(what, want)
}
