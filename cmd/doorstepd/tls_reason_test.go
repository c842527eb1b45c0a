package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

// TestRefusalReasonNamesNobody: Go's text for a refused client certificate
// can quote the names it holds (a name constraint's error quotes the DNS
// name or email address refused, and a certificate is often a person's),
// so the log says the reason in words of its own.
func TestRefusalReasonNamesNobody(t *testing.T) {
	const person = "margaret.ironside"
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"name constraint", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{
			Reason: x509.CANotAuthorizedForThisName, Detail: fmt.Sprintf("email address %q is not permitted by any constraint", person+"@example.org")}},
			"may not sign for the names"},
		{"expired", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired, Detail: "current time 2026-11-27 is after 2026-01-01"}},
			"expired"},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "unknown authority"},
		{"none given", errors.New("tls: client didn't provide a certificate"), "didn't provide a certificate"},
		{"our certificate refused", errors.New("remote error: tls: bad certificate"), "refused the server's certificate (bad certificate)"},
		{"unreadable", fmt.Errorf("tls: failed to parse client certificate: x509: malformed certificate for %s", person), "could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := refusalReason(tc.err)
			if !strings.Contains(got, tc.want) || strings.Contains(got, person) {
				t.Errorf("refusalReason(%q) = %q, want it to say %q and not name %s", tc.err, got, tc.want, person)
			}
		})
	}
}

// TestFailedReasonNamesNoAddress: a handshake cut off on the network fails
// with Go's text naming both ends' addresses, a client's being personal
// data; the debug line says only that it failed before TLS was agreed.
func TestFailedReasonNamesNoAddress(t *testing.T) {
	client := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 51515}
	err := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8443}, Addr: client, Err: syscall.ECONNRESET}
	if got := failedReason(err); strings.Contains(got, "203.0.113.7") || got == "" {
		t.Errorf("failedReason(%q) = %q, want no address", err, got)
	}
	const probe = "tls: first record does not look like a TLS handshake"
	if got := failedReason(errors.New(probe)); got != probe {
		t.Errorf("failedReason(%q) = %q, want Go's own words", probe, got)
	}
}
