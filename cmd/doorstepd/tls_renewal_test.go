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

// TestTLSKeyFileRemovedSaidOnce: a key file removed (a renewal script gone
// wrong, a clean-up of the wrong directory) keeps the pair in memory
// served, but the next restart will not start: the operator is told once,
// not at every connection, and again once it is back and loads.
func TestTLSKeyFileRemovedSaidOnce(t *testing.T) {
	p := newPKI(t)
	addr, logs, stop := startLogged(t, "--tls-cert", p.serverCert, "--tls-key", p.serverKey)
	defer func() { _ = stop() }()
	first := servedCertificate(t, addr, p.pool)
	raw, err := os.ReadFile(p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p.serverKey); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if got := servedCertificate(t, addr, p.pool); !bytes.Equal(got.Raw, first.Raw) {
			t.Fatalf("with the key file removed, served %q, want the certificate loaded before", got.Subject.CommonName)
		}
	}
	if n := strings.Count(logs.String(), "cannot be read"); n != 1 {
		t.Errorf("key file removed: %d warnings that it cannot be read over 5 connections, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "--tls-key") {
		t.Errorf("the warning does not name --tls-key:\n%s", logs.String())
	}
	if err := os.WriteFile(p.serverKey, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	servedCertificate(t, addr, p.pool)
	if err := os.Remove(p.serverKey); err != nil {
		t.Fatal(err)
	}
	servedCertificate(t, addr, p.pool)
	if n := strings.Count(logs.String(), "cannot be read"); n != 2 {
		t.Errorf("key file removed, put back, removed again: %d warnings, want 2:\n%s", n, logs.String())
	}
}

// TestTLSKeyMadeReadableAfterRenewal: a renewal hook that copies the new
// key in (root's, mode 600, which the server's user cannot read) and then
// gives it to that user with chown or chmod changes neither the file's
// time nor its size. A handshake in between failed to load it; the
// renewed certificate must still be served once the key can be read, not
// the old one until it expires.
func TestTLSKeyMadeReadableAfterRenewal(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads a file of any mode")
	}
	p := newPKI(t)
	addr, logs, stop := startLogged(t, "--tls-cert", p.serverCert, "--tls-key", p.serverKey)
	defer func() { _ = stop() }()
	renewed, renewedKey := certificate(t, "doorstepd renewed", p.ca, p.caKey, false)
	staged := writePEM(t, t.TempDir(), "server.pem", renewed, renewedKey)
	key, err := os.ReadFile(strings.TrimSuffix(staged, ".pem") + ".key")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := os.ReadFile(staged)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.serverCert, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p.serverKey); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.serverKey, key, 0); err != nil {
		t.Fatal(err)
	}
	servedCertificate(t, addr, p.pool) // finds the key unreadable
	if err := os.Chmod(p.serverKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedCertificate(t, addr, p.pool); !bytes.Equal(got.Raw, renewed.Raw) {
		t.Errorf("key made readable after the renewal: served %q, want the renewed certificate\n%s", got.Subject.CommonName, logs.String())
	}
}
