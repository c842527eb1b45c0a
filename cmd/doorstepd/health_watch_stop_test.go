package main

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestHealthWatchDoesNotHoldTheStop: a load balancer or a gRPC client
// with health checking holds a health Watch open for as long as it is
// connected. The stop tells it NOT_SERVING and then ends the watch, as it
// ends event streams: before, the graceful stop waited on the watch for the
// whole --shutdown-timeout, then logged that it cancelled calls still
// running, as if work had been cut off.
func TestHealthWatchDoesNotHoldTheStop(t *testing.T) {
	dir := t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	addr, done := runInProcess(t, ctx, nil, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--shutdown-timeout", "1h")
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The bound only keeps a watch that never ends from hanging the test.
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch: %v, %v", r, err)
	}
	stop()
	// What the watcher hears: NOT_SERVING, then the end of the watch.
	var heard []healthpb.HealthCheckResponse_ServingStatus
	for {
		r, err := watch.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Errorf("the health watch ended with %v, want UNAVAILABLE (go elsewhere, come back later)", err)
			}
			break
		}
		heard = append(heard, r.Status)
	}
	if len(heard) == 0 || heard[len(heard)-1] != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("the health watch heard %v before it ended, want NOT_SERVING last", heard)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("with nothing running but a health watch, the stop waited on it (--shutdown-timeout 1h)")
	}
}
