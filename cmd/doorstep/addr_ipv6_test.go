package main

import (
	"strings"
	"testing"
)

// TestAddrDefaultPort holds the address a command dials when --addr has
// no port, and whether it speaks plaintext there, for the forms an IPv6
// address comes in.
func TestAddrDefaultPort(t *testing.T) {
	for _, tc := range []struct {
		addr, dial string
		loopback   bool
	}{
		{"localhost", "localhost:50051", true},
		{"doorstep.example.org", "doorstep.example.org:50051", false},
		{"127.0.0.1", "127.0.0.1:50051", true},
		{"::1", "[::1]:50051", true},
		{"[::1]", "[::1]:50051", true},
		{"[2001:db8::5]", "[2001:db8::5]:50051", false},
		{"[fe80::1%eth0]", "[fe80::1%eth0]:50051", false},
		{"[::1]:50061", "[::1]:50061", true},
		{"[::ffff:127.0.0.1]:50061", "[::ffff:127.0.0.1]:50061", true},
		{"[fe80::1%eth0]:50061", "[fe80::1%eth0]:50061", false},
	} {
		dial, host := dialAddr(tc.addr)
		if dial != tc.dial || isLoopback(host) != tc.loopback {
			t.Errorf("--addr %s: dials %s, loopback %v; want %s, %v", tc.addr, dial, isLoopback(host), tc.dial, tc.loopback)
		}
		if strings.Count(dial, "[") > 1 {
			t.Errorf("--addr %s: dials %s", tc.addr, dial)
		}
	}
}
