package main

import (
	"net"
	"strings"
	"testing"
)

// TestAddrIPv6 runs a command against a server on ::1, the loopback
// address of a host that has no IPv4 one, written as people write it:
// bracketed with its port, or with the loopback interface's zone, as
// ip(8) and ping -6 print it. Each is loopback, so plaintext.
func TestAddrIPv6(t *testing.T) {
	lis, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	e := newTestEnvOn(t, lis, nil)
	_, port, _ := net.SplitHostPort(e.addr)
	lo := loopbackInterface(t)
	for _, addr := range []string{
		"[::1]:" + port,
		"[::1%" + lo + "]:" + port,
		"[0:0:0:0:0:0:0:1]:" + port,
	} {
		t.Run(addr, func(t *testing.T) {
			r := e.run("--addr", addr, "request", "list")
			if r.code != 0 || r.stdout != "No requests in hand.\n" {
				t.Errorf("--addr %s: exit %d, stdout %q, stderr %q", addr, r.code, r.stdout, r.stderr)
			}
		})
	}
}

// loopbackInterface names the loopback interface: "lo" on Linux.
func loopbackInterface(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

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
		{"[::1%lo]", "[::1%lo]:50051", true},
		{"::1%lo", "[::1%lo]:50051", true},
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
