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
