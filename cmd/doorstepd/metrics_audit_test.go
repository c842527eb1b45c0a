package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/doorstep-aid/doorstep/internal/readmetest"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// seriesValues reads a scrape into series (name and labels as written)
// and their values.
func seriesValues(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// callsCounted sums grpc_server_handled_total over its series.
func callsCounted(got map[string]float64) float64 {
	n := 0.0
	for series, v := range got {
		if strings.HasPrefix(series, "grpc_server_handled_total{") {
			n += v
		}
	}
	return n
}

// readmeHandledRow is what README's table of metrics says
// grpc_server_handled_total counts.
func readmeHandledRow(t *testing.T) string {
	t.Helper()
	for _, cols := range readmetest.Rows(t, readmetest.Section(t, "Metrics"), "`", 4, "| metric | type | labels | what |") {
		if name := readmetest.Code(cols[0]); len(name) == 1 && name[0] == "grpc_server_handled_total" {
			return cols[3]
		}
	}
	t.Fatal("README's table of metrics has no grpc_server_handled_total")
	return ""
}

// rawBytes sends bytes as they are: what no client of the protos sends.
type rawBytes struct{}

func (rawBytes) Marshal(v any) ([]byte, error)   { return v.([]byte), nil }
func (rawBytes) Unmarshal(b []byte, v any) error { *(v.(*[]byte)) = b; return nil }
func (rawBytes) Name() string                    { return "proto" }

// TestMetricsREADMENamesTheRefusalsNotCounted: gRPC refuses some calls
// itself, before any of the server's code sees them: a method the server
// lacks, a message larger than --max-recv-bytes (a partner's batch too
// big: RESOURCE_EXHAUSTED), bytes that are not protobuf (INTERNAL). None
// is counted, and the README's row for grpc_server_handled_total, which
// says refusals by the rate limit are counted as ResourceExhausted, must
// say so of each, or an operator told of a partner's RESOURCE_EXHAUSTED
// or INTERNAL looks for it on the board, finds nothing, and looks no
// further.
func TestMetricsREADMENamesTheRefusalsNotCounted(t *testing.T) {
	addr, scrape := startScraped(t, "--max-recv-bytes", "4096")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := callsCounted(seriesValues(t, scrape()))
	const n = 3
	for _, tc := range []struct {
		name   string
		method string
		msg    []byte
		code   codes.Code
	}{
		// Without a token: the server's tap refuses it first, unnamed.
		{"unknown method", "/doorstep.v1.HelpRequestService/Nope", nil, codes.Unauthenticated},
		{"too large", "/grpc.health.v1.Health/Check", make([]byte, 8192), codes.ResourceExhausted},
		{"not protobuf", "/grpc.health.v1.Health/Check", []byte{0xff, 0xff, 0xff}, codes.Internal},
	} {
		for range n {
			var out []byte
			err := conn.Invoke(context.Background(), tc.method, tc.msg, &out, grpc.ForceCodec(rawBytes{}))
			if status.Code(err) != tc.code {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.code)
			}
		}
	}
	if after := callsCounted(seriesValues(t, scrape())); after != before {
		t.Errorf("gRPC's own refusals moved grpc_server_handled_total by %v: the README's words below are wrong", after-before)
	}
	row := readmeHandledRow(t)
	for _, words := range []string{"a method the server does not have", "`--max-recv-bytes`", "not protobuf"} {
		if !strings.Contains(row, words) {
			t.Errorf("README's grpc_server_handled_total row does not name %q among the calls not counted: %q", words, row)
		}
	}
}

// TestMetricsDeadlinePassedCountedOnce: streams whose callers' deadlines
// pass are each counted once, as Canceled or DeadlineExceeded: the
// caller's client, at its deadline, resets the call, and the reset
// reaches the server about when the server's own timer (from the
// grpc-timeout the client sent) runs out, so that the server sees
// whichever comes first. Every caller was told DEADLINE_EXCEEDED: the
// README must not say the code counted is always the caller's.
func TestMetricsDeadlinePassedCountedOnce(t *testing.T) {
	conn, scrape := startScrapedAsAdmin(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			s, err := pb.NewEventServiceClient(conn).WatchEvents(ctx, &pb.WatchEventsRequest{})
			for err == nil {
				_, err = s.Recv()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("a stream past its deadline ended %v", err)
		}
	}
	series := func(code string) string {
		return `grpc_server_handled_total{grpc_code="` + code + `",grpc_method="WatchEvents",grpc_service="doorstep.v1.EventService"}`
	}
	var got map[string]float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = seriesValues(t, scrape())
		if got[series("Canceled")]+got[series("DeadlineExceeded")] >= n {
			break
		}
	}
	t.Logf("%d streams past their deadline: counted %v Canceled, %v DeadlineExceeded", n, got[series("Canceled")], got[series("DeadlineExceeded")])
	if c := got[series("Canceled")] + got[series("DeadlineExceeded")]; c != n {
		t.Errorf("%d streams past their deadline counted %v times", n, c)
	}
	row := readmeHandledRow(t)
	if strings.Contains(row, "the code the caller got") || !strings.Contains(row, "`Canceled`") || !strings.Contains(row, "`DeadlineExceeded`") {
		t.Errorf("README's grpc_server_handled_total row does not say that a call past its deadline may be counted Canceled: %q", row)
	}
}

// TestMetricsListenerMakesNoSeries: what anyone who reaches either port
// sends (paths and methods on the metrics listener, unknown gRPC methods
// and services on the gRPC one) adds no series to a scrape: each
// distinct value would be a series kept until the restart.
func TestMetricsListenerMakesNoSeries(t *testing.T) {
	addr, logs, stop := startLogged(t, "--metrics-listen", "127.0.0.1:0")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + metricsAddrRE.FindStringSubmatch(logs.String())[1]
	names := func() map[string]bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for s := range seriesValues(t, string(body)) {
			if !strings.HasPrefix(s, "go_") && !strings.HasPrefix(s, "process_") {
				out[s] = true
			}
		}
		return out
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	before := names()
	for i := range 20 {
		for _, m := range []string{"GET", "POST", "PUT", "PROPFIND"} {
			req, err := http.NewRequest(m, fmt.Sprintf("%s/zebedee-%d?q=%d", base, i, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		for _, method := range []string{fmt.Sprintf("/doorstep.v1.HelpRequestService/Q%d", i), fmt.Sprintf("/quill%d.Svc/Get", i)} {
			var out []byte
			err := conn.Invoke(context.Background(), method, []byte{}, &out, grpc.ForceCodec(rawBytes{}))
			if c := status.Code(err); c != codes.Unimplemented && c != codes.Unauthenticated {
				t.Fatalf("%s: %v", method, err)
			}
		}
	}
	for s := range names() {
		if !before[s] {
			t.Errorf("what a stranger sent made series %s", s)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestMetricsWatcherStoppingCountedCanceled: a watcher who stops (the
// helpline's doorstep watch, Ctrl-C) ends its stream as a cancel, and the
// server counts it Canceled, as any call its caller gave up on. The
// README's row tells an operator to alert on Canceled and
// DeadlineExceeded together: it must leave WatchEvents out, or every
// watcher who stops pages someone.
func TestMetricsWatcherStoppingCountedCanceled(t *testing.T) {
	conn, scrape := startScrapedAsAdmin(t)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := pb.NewEventServiceClient(conn).WatchEvents(ctx, &pb.WatchEventsRequest{})
	if err == nil {
		_, err = s.Recv() // the first progress: the stream is open
	}
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	canceled := `grpc_server_handled_total{grpc_code="Canceled",grpc_method="WatchEvents",grpc_service="doorstep.v1.EventService"}`
	var got float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = seriesValues(t, scrape())[canceled]; got >= 1 {
			break
		}
	}
	if got != 1 {
		t.Errorf("a watcher who stopped: %s = %v, want 1", canceled, got)
	}
	if row := readmeHandledRow(t); !strings.Contains(row, "`WatchEvents`") || !strings.Contains(row, "alert on the two together") {
		t.Errorf("README's grpc_server_handled_total row advises an alert on Canceled and DeadlineExceeded without leaving out WatchEvents, whose streams end Canceled whenever a watcher stops: %q", row)
	}
}

// startScrapedAsAdmin is startScraped, and a connection to the server
// with its first admin token, closed when the test ends.
func startScrapedAsAdmin(t *testing.T) (*grpc.ClientConn, func() string) {
	t.Helper()
	tokenFile := t.TempDir() + "/admin.token"
	addr, scrape := startScraped(t, "--admin-token-file", tokenFile)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(readToken(t, tokenFile))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, scrape
}
