package main

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestSilentConnectionDoesNotHoldTheStop: a connection that never begins
// its TLS handshake or HTTP/2 preface (a port scanner, a load balancer's
// TCP check, anyone on the internet) is given two minutes by gRPC, and its
// stop waited for them: past --shutdown-timeout and past the second
// signal, which means now. A service manager's stop timeout (90s) then
// killed the server. A stop that gives up waiting now closes every
// connection, begun or not.
func TestSilentConnectionDoesNotHoldTheStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout string // --shutdown-timeout
		force   bool   // a second signal
	}{
		{"shutdown timeout", "0s", false},
		{"second signal", "1h", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			force := make(chan struct{})
			addr, done := runInProcess(t, ctx, force, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--shutdown-timeout", tc.timeout)
			silent, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			stop()
			if tc.force {
				close(force)
			}
			// gRPC gives a connection 120s to begin: the bound is well
			// within it, and only keeps a stop that waits from hanging the
			// test.
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("stop: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the stop waited on a connection that never said anything")
			}
		})
	}
}
