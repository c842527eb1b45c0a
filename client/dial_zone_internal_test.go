package client

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// TestURLZoneNumeric: a zone may be an interface's index, as net.Dial
// takes it and Windows' ipconfig prints it ("fe80::1%12"). One of 250 or
// more ("%253", common where containers come and go) begins as an escaped
// "%" does, and was left as if escaped: gRPC read "%253" as "%3" and
// dialled the link of interface 3, where fe80::1, a router's usual
// address, is another machine.
func TestURLZoneNumeric(t *testing.T) {
	for _, tc := range []struct{ addr, zone string }{
		{"[fe80::1%eth0]:50051", "eth0"},
		{"[fe80::1%25eth0]:50051", "eth0"}, // escaped already, as in a URL
		{"[fe80::1%2]:50051", "2"},
		{"[fe80::1%25]:50051", "25"},
		{"[fe80::1%253]:50051", "253"},
		{"[fe80::1%2510]:50051", "2510"},
	} {
		// gRPC takes the target as the path of a dns:/// URL.
		target, err := url.PathUnescape(urlZone(tc.addr))
		if err != nil {
			t.Errorf("%s: gRPC cannot read %s: %v", tc.addr, urlZone(tc.addr), err)
			continue
		}
		host, _, err := net.SplitHostPort(target)
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		if _, zone, _ := strings.Cut(host, "%"); zone != tc.zone {
			t.Errorf("%s: gRPC dials zone %q, want %q", tc.addr, zone, tc.zone)
		}
	}
}
