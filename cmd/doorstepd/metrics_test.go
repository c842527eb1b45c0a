package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// startLogged is start with run's log kept, at info level, for the
// address the metrics are served on.
func startLogged(t *testing.T, args ...string) (addr string, logs *syncBuffer, stop func() error) {
	t.Helper()
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--admin-token-file", t.TempDir() + "/admin.token"}, args...),
			func(string) string { return "" }, logs, ready)
	}()
	select {
	case a := <-ready:
		return a.String(), logs, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("doorstepd did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("doorstepd did not start in 30s")
	}
	return "", nil, nil
}

var metricsAddrRE = regexp.MustCompile(`"serving metrics","addr":"([^"]+)"`)

// TestMetricsServed: with --metrics-listen, GET /metrics answers in
// Prometheus' text format with the calls made (a refused one too) and the
// runtime's and the process's metrics; nothing else is served there, and
// the stop closes it.
func TestMetricsServed(t *testing.T) {
	addr, logs, stop := startLogged(t, "--metrics-listen", "127.0.0.1:0")
	m := metricsAddrRE.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no serving metrics line with its address:\n%s", logs.String())
	}
	base := "http://" + m[1]

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.NewVolunteerServiceClient(conn).ListVolunteers(ctx, &pb.ListVolunteersRequest{}); err == nil {
		t.Fatal("a call without a token was answered")
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health"} 1`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="ListVolunteers",grpc_service="doorstep.v1.VolunteerService"} 1`,
		"doorstep_matching_volunteers 0",
		`doorstep_offers_made_total{via="hand"} 0`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}

	// The start's own writes (the first admin token) were committed, and
	// timed: a slow disk shows there first.
	for _, series := range []string{"doorstep_store_writes_committed_total", "doorstep_store_commit_duration_seconds_count"} {
		m := regexp.MustCompile(`(?m)^` + series + ` (\S+)$`).FindStringSubmatch(string(body))
		if m == nil || m[1] == "0" {
			t.Errorf("GET /metrics: %s %v, want more than 0", series, m)
		}
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusNotFound},
		{"GET", "/debug/pprof/", http.StatusNotFound},
		{"GET", "/metrics/extra", http.StatusNotFound},
		{"POST", "/metrics", http.StatusMethodNotAllowed},
		{"DELETE", "/metrics", http.StatusMethodNotAllowed},
	} {
		req, err := http.NewRequest(tc.method, base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %s, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}

	http.DefaultClient.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
		c.Close()
		t.Errorf("the metrics address %s still takes connections after the stop", m[1])
	}
}

// TestNoMetricsWithoutTheFlag: without --metrics-listen nothing is served
// but gRPC, and the server counts nothing.
func TestNoMetricsWithoutTheFlag(t *testing.T) {
	_, logs, stop := startLogged(t, "--log-level", "debug")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "metrics") {
		t.Errorf("a start without --metrics-listen speaks of metrics:\n%s", logs.String())
	}
}

// TestBadMetricsAddress: an address that is not host:port is refused with
// the flags, before anything is opened; one that cannot be listened on
// stops the start; each names the flag.
func TestBadMetricsAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ name, addr string }{
		{"no port", "localhost"},
		{"port alone", "9090"},
		{"unknown port", "127.0.0.1:metrics"},
		{"in use", busy.Addr().String()},
		{"not an address here", "192.0.2.1:9090"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), nil, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error", "--metrics-listen", tc.addr},
				func(string) string { return "" }, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
				t.Errorf("--metrics-listen %s: %v, want an error naming the flag", tc.addr, err)
			}
		})
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"DOORSTEP_METRICS_LISTEN": "9090"}[k] }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--metrics-listen") {
		t.Errorf("DOORSTEP_METRICS_LISTEN=9090: %v, want it refused naming the flag", err)
	}
}
