package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// servedCertificate is the leaf certificate a new connection to addr is
// shown.
func servedCertificate(t *testing.T, addr string, pool *x509.CertPool) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// TestTLSCertificateRenewed: a certificate renewed in place (certbot every
// 60 days, written certificate first, then key) is served to the next
// connection without a restart, which would cut every watcher's stream;
// the moment between the two writes, when they do not match, leaves the
// old pair served.
func TestTLSCertificateRenewed(t *testing.T) {
	p := newPKI(t)
	addr, logs, stop := startLogged(t, "--tls-cert", p.serverCert, "--tls-key", p.serverKey)
	defer func() { _ = stop() }()
	first := servedCertificate(t, addr, p.pool)

	renewed, renewedKey := certificate(t, "doorstepd renewed", p.ca, p.caKey, false)
	staged := t.TempDir()
	newCert := writePEM(t, staged, "server.pem", renewed, renewedKey)
	move := func(from, to string) {
		t.Helper()
		raw, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	move(newCert, p.serverCert)
	if got := servedCertificate(t, addr, p.pool); !bytes.Equal(got.Raw, first.Raw) {
		t.Errorf("with the new certificate written but not yet its key, served %q, want the old one still", got.Subject.CommonName)
	}
	move(filepath.Join(staged, "server.key"), p.serverKey)
	if got := servedCertificate(t, addr, p.pool); !bytes.Equal(got.Raw, renewed.Raw) {
		t.Errorf("after renewal served %q (serial %v), want the renewed certificate", got.Subject.CommonName, got.SerialNumber)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no log of the reload:\n%s", logs.String())
	}
}
