package main

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestHangupStopsGracefully: SIGHUP comes when the terminal doorstepd was
// started from is closed, or from `systemctl reload` where a unit says
// ExecReload=kill -HUP. Go's default was to die at once, cutting the calls
// in flight. It stops as SIGTERM does; and since a closed terminal can send
// it twice (the shell passing it on, then the kernel), and systemd's
// SendSIGHUP=yes sends it just after SIGTERM, it never counts as the second
// signal that cancels the calls still running.
func TestHangupStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	cmd, addr, exited, logged := startChild(t, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--shutdown-timeout", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inFlight := holdCallInFlight(ctx, t, addr)
	_ = cmd.Process.Signal(syscall.SIGHUP)
	_ = cmd.Process.Signal(syscall.SIGHUP)
	// The call ends: it is answered.
	if err := inFlight.SendMsg(&healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("the call in flight, after SIGHUP: %v (doorstepd: %v)", err, exitOf(cmd, exited))
	}
	if err := inFlight.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := inFlight.RecvMsg(new(healthpb.HealthCheckResponse)); err != nil {
		t.Errorf("the call in flight, after SIGHUP: %v, want it answered", err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("doorstepd on SIGHUP: %v, want a clean exit", err)
		}
		for _, msg := range []string{"shutting down", "stopped"} {
			if !slices.Contains(*logged, msg) {
				t.Errorf("SIGHUP's stop did not log %q: %q", msg, *logged)
			}
		}
		if slices.Contains(*logged, "second signal: cancelling calls still running") {
			t.Errorf("a second SIGHUP cancelled the calls running: %q", *logged)
		}
	case <-time.After(time.Minute):
		t.Errorf("doorstepd did not stop on SIGHUP once its call in flight ended")
	}
}

// TestHangupIgnoredUnderNohup: started with SIGHUP ignored (nohup, or a
// shell's disown), doorstepd is meant to outlive its terminal; catching
// SIGHUP would undo that, so it is left ignored.
func TestHangupIgnoredUnderNohup(t *testing.T) {
	dir := t.TempDir()
	cmd, addr, exited, logged := startChildVia(t, []string{"/bin/sh", "-c", `trap '' HUP; exec "$@"`, "sh"},
		"--data-dir", dir, "--admin-token-file", dir+"/admin.token")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health after a SIGHUP under nohup: %v, %v; want SERVING (doorstepd: %v)", resp.GetStatus(), err, exitOf(cmd, exited))
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("doorstepd on SIGTERM: %v, want a clean exit", err)
		}
		if !slices.Contains(*logged, "stopped") {
			t.Errorf("SIGTERM's stop did not log it: %q", *logged)
		}
	case <-time.After(time.Minute):
		t.Errorf("doorstepd did not stop on SIGTERM")
	}
}

// TestHangupThenTwoSIGTERMsForces: a SIGHUP (the terminal closed) starts
// the graceful stop; an operator who then wants the server gone sends
// SIGTERM, which is the first of the signals that count, and a second,
// which cancels the calls still running as it would without the SIGHUP.
func TestHangupThenTwoSIGTERMsForces(t *testing.T) {
	dir := t.TempDir()
	cmd, addr, exited, logged := startChild(t, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--shutdown-timeout", "1h")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	holdCallInFlight(ctx, t, addr)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		_ = cmd.Process.Signal(sig)
		select {
		case err := <-exited:
			t.Fatalf("doorstepd stopped at %v with a call in flight: %v", sig, err)
		case <-time.After(time.Second): // two SIGTERMs pending at once would be one
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	expectForcedStop(t, exited, logged, "SIGTERM twice after SIGHUP")
}
