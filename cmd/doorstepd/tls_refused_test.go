package main

import (
	"crypto/tls"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TestTLSRefusedHandshakeLogged: a partner told to connect with mutual TLS
// who cannot is only a report of "it doesn't work" to the operator, whose
// log must say why the server turned the connection away. It says no more
// than the reason: no address or certificate names, which can be a
// person's.
func TestTLSRefusedHandshakeLogged(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  string
	}{
		{"no client certificate", nil, "didn't provide a certificate"},
		{"certificate from another CA", []tls.Certificate{p.otherClientPair}, "unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, logs, stop := startLogged(t, "--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.caFile)
			err := healthOver(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
				RootCAs: p.pool, ServerName: "127.0.0.1", Certificates: tc.certs,
				// Go's client sends no certificate the server's CAs did not
				// sign; this one shows the server what it was given.
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					if len(tc.certs) == 0 {
						return &tls.Certificate{}, nil
					}
					return &tc.certs[0], nil
				},
			})))
			if err == nil {
				t.Fatal("the handshake succeeded")
			}
			if err := stop(); err != nil { // waits for the connection's goroutine
				t.Fatal(err)
			}
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "TLS handshake refused") {
					line = l
				}
			}
			if !strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, tc.want) {
				t.Errorf("no warning of the refused handshake saying %q:\n%s", tc.want, logs.String())
			}
			if strings.Contains(line, "127.0.0.1") || strings.Contains(line, "stranger") {
				t.Errorf("the warning names the address or the certificate: %s", line)
			}
		})
	}
}

// TestTLSRefusedHandshakesNotPerConnection: a server open to the internet
// with --tls-client-ca is met all day by scanners that speak TLS without a
// client certificate, and by a partner's program retrying with an expired
// one. The log says each reason, not each connection, or the one line an
// operator needs is lost among thousands.
func TestTLSRefusedHandshakesNotPerConnection(t *testing.T) {
	p := newPKI(t)
	addr, logs, stop := startLogged(t, "--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.caFile)
	for range 20 {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool, NextProtos: []string{"h2"}})
		if err == nil {
			// TLS 1.3: the refusal comes after the client's half.
			_, _ = conn.Read(make([]byte, 1))
			conn.Close()
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "TLS handshake refused"); n != 1 {
		t.Errorf("20 connections without a client certificate logged %d refusals, want 1:\n%s", n, logs.String())
	}
}
