package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestStderrReaderGoneKeepsServing: the reader of doorstepd's stderr can
// go while it serves (journald restarted or crashed, `doorstepd 2>&1 |
// head`). Go's runtime kills a process by SIGPIPE at its next write to a
// broken stderr, even with SIGPIPE ignored as systemd's IgnoreSIGPIPE=yes
// leaves it, and systemd counts that death as a clean exit, which
// Restart=on-failure does not restart. The server goes on serving, and a
// SIGTERM still stops it cleanly.
func TestStderrReaderGoneKeepsServing(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDoorstepd$")
	// At debug level every call is logged: each one below writes to the
	// broken stderr.
	cmd.Env = append(os.Environ(), "DOORSTEPD_HELPER_ARGS=--listen 127.0.0.1:0 --log-level debug --data-dir "+dir+" --admin-token-file "+dir+"/admin.token")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := ""
	for sc := bufio.NewScanner(r); addr == "" && sc.Scan(); {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
			addr = line.Addr
		}
	}
	if addr == "" {
		t.Fatalf("doorstepd did not start: %v", <-exited)
	}
	_ = r.Close() // the reader is gone

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(i == 0))
		cancel()
		if err != nil {
			t.Fatalf("health check %d after stderr's reader went: %v (doorstepd: %v)", i+1, err, exitOf(cmd, exited))
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("doorstepd stopped by SIGTERM: %v, want a clean exit", err)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("doorstepd did not stop on SIGTERM")
	}
}

// exitOf says how cmd ended, if it has.
func exitOf(cmd *exec.Cmd, exited <-chan error) string {
	select {
	case err := <-exited:
		if err == nil {
			return "exited 0"
		}
		return err.Error()
	case <-time.After(5 * time.Second):
		return "still running"
	}
}

// brokenPipe is a stderr whose reader has gone: every write fails, as
// one to a closed pipe does once SIGPIPE is ignored.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestTokenFileNoticeLostStillStarts: with --admin-token-file the token is
// in its file; the line saying where, written to a stderr whose reader had
// gone (journald restarted as the service started), failed a first start
// after the token was stored, and --new-admin-token after it made one.
// The file is what counts: the start serves, and the new token is told as
// made.
func TestTokenFileNoticeLostStillStarts(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--admin-token-file", tokenFile}, func(string) string { return "" }, brokenPipe{}, ready)
	}()
	select {
	case <-ready:
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("stop: %v", err)
		}
	case err := <-done:
		t.Fatalf("first start, its stderr's reader gone: %v, want it serving with the token in %s", err, tokenFile)
	}
	if readToken(t, tokenFile) == "" {
		t.Fatal("no first token in its file")
	}
	second := filepath.Join(t.TempDir(), "admin.token")
	if err := run(context.Background(), nil, []string{"--data-dir", dir, "--new-admin-token", "--admin-token-file", second}, func(string) string { return "" }, brokenPipe{}, nil); err != nil {
		t.Errorf("--new-admin-token, its stderr's reader gone: %v, want the token made in %s", err, second)
	}
	if readToken(t, second) == "" {
		t.Error("no new token in its file")
	}
}
