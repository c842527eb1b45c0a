package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestHelperDoorstepd is not a test: it runs doorstepd's main in a child
// process for the tests below, which send it signals.
func TestHelperDoorstepd(t *testing.T) {
	args := os.Getenv("DOORSTEPD_HELPER_ARGS")
	if args == "" {
		t.Skip("helper process only")
	}
	os.Args = append([]string{"doorstepd"}, strings.Fields(args)...)
	main()
}

// startChild runs doorstepd in a child process and returns it with the
// address it serves on, and a channel that has its exit once its log is
// read to the end: then logged holds every message of that log.
func startChild(t *testing.T, args ...string) (cmd *exec.Cmd, addr string, exited <-chan error, logged *[]string) {
	t.Helper()
	return startChildVia(t, nil, args...)
}

// startChildVia is startChild, run by the command wrap (nil: none), which
// execs the command line it is given after its own.
func startChildVia(t *testing.T, wrap []string, args ...string) (cmd *exec.Cmd, addr string, exited <-chan error, logged *[]string) {
	t.Helper()
	line := append(append([]string{}, wrap...), os.Args[0], "-test.run=^TestHelperDoorstepd$")
	cmd = exec.Command(line[0], line[1:]...)
	cmd.Env = append(os.Environ(), "DOORSTEPD_HELPER_ARGS="+strings.Join(append([]string{"--listen", "127.0.0.1:0"}, args...), " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addrc := make(chan string, 1)
	exit := make(chan error, 1)
	logged = new([]string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			*logged = append(*logged, line.Msg)
			if line.Msg == "serving" {
				addrc <- line.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		// Wait closes the pipe: only once it has been read.
		exit <- cmd.Wait()
	}()
	select {
	case addr = <-addrc:
	case <-time.After(60 * time.Second):
		t.Fatal("doorstepd did not start")
	}
	return cmd, addr, exit, logged
}

// holdCallInFlight opens, on a connection of its own, a call whose request
// has begun but never ends, as from a client on a slow link: the server
// holds it, waiting for the rest, until ctx ends or a stop gives up on it.
// A health watch or an event stream would not do: a stop ends those. The
// call is returned for a test that finishes it.
func holdCallInFlight(ctx context.Context, t *testing.T, addr string) grpc.ClientStream {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	call, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, healthpb.Health_Check_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	// A connection's frames are read in order: once a later call on it is
	// answered, the server holds the first.
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	return call
}

// TestSecondSignalForces: SIGTERM lets running calls finish, for up to
// --shutdown-timeout; a second SIGTERM (or Ctrl-C pressed again) stops the
// server at once.
func TestSecondSignalForces(t *testing.T) {
	dir := t.TempDir()
	cmd, addr, exited, logged := startChild(t, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--shutdown-timeout", "1h")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	holdCallInFlight(ctx, t, addr)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		t.Fatalf("doorstepd stopped at the first SIGTERM with a call in flight: %v", err)
	case <-time.After(time.Second):
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	expectForcedStop(t, exited, logged, "a second SIGTERM")
}

// expectForcedStop: the signal just sent (what) cancels the calls still
// running, logs it and exits cleanly, not waiting out --shutdown-timeout.
func expectForcedStop(t *testing.T, exited <-chan error, logged *[]string, what string) {
	t.Helper()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("doorstepd forced to stop: %v, want a clean exit", err)
		}
		if !slices.Contains(*logged, "second signal: cancelling calls still running") {
			t.Errorf("the forced stop was not logged: %q", *logged)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("doorstepd ignored %s: still running 5s later (it waits out --shutdown-timeout)", what)
	}
}
