package main

import (
	"context"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSCertificateFiles: what an operator is told at start about the
// certificate and key files.
func TestTLSCertificateFiles(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	expired, expiredKey := certificateFor(t, "expired", p.ca, p.caKey, false, time.Now().Add(-90*24*time.Hour), time.Now().Add(-time.Hour))
	early, earlyKey := certificateFor(t, "early", p.ca, p.caKey, false, time.Now().Add(time.Hour), time.Now().Add(90*24*time.Hour))
	other, otherKey := certificate(t, "other", p.ca, p.caKey, false)
	expiredCert := writePEM(t, dir, "expired.pem", expired, expiredKey)
	earlyCert := writePEM(t, dir, "early.pem", early, earlyKey)
	otherCert := writePEM(t, dir, "other.pem", other, otherKey)
	openKey := filepath.Join(dir, "open.key")
	raw, err := os.ReadFile(p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(openKey, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		cert, key string
		warn      string // in the log of a start that serves
		err       string // or the start's error
	}{
		{"expired", expiredCert, filepath.Join(dir, "expired.key"), "the TLS certificate in --tls-cert has expired", ""},
		{"not yet valid", earlyCert, filepath.Join(dir, "early.key"), "the TLS certificate in --tls-cert is not valid yet", ""},
		{"key readable by everyone", p.serverCert, openKey, "--tls-key " + openKey + " can be read by every user", ""},
		{"key of another certificate", p.serverCert, filepath.Join(dir, "other.key"), "",
			"--tls-cert " + p.serverCert + " and --tls-key " + filepath.Join(dir, "other.key") + ": tls: private key does not match public key"},
		{"no key file", otherCert, filepath.Join(dir, "missing.key"), "", "--tls-key: stat " + filepath.Join(dir, "missing.key")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err != "" {
				err := run(context.Background(), nil, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error",
					"--tls-cert", tc.cert, "--tls-key", tc.key}, func(string) string { return "" }, io.Discard, nil)
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("start: %v, want an error saying %q", err, tc.err)
				}
				return
			}
			_, logs, stop := startLogged(t, "--tls-cert", tc.cert, "--tls-key", tc.key)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), tc.warn) {
				t.Errorf("no warning %q in the log:\n%s", tc.warn, logs.String())
			}
		})
	}
}

// TestTLSCertificateExpiresWhileServing: the usual way a certificate
// expires is a renewal that quietly stopped working while the server ran
// on. The first connection after it expired says so in the log, once,
// not only a start no one makes.
func TestTLSCertificateExpiresWhileServing(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	soon, soonKey := certificateFor(t, "soon", p.ca, p.caKey, false, time.Now().Add(-time.Hour), time.Now().Add(1500*time.Millisecond))
	cert := writePEM(t, dir, "soon.pem", soon, soonKey)
	addr, logs, stop := startLogged(t, "--tls-cert", cert, "--tls-key", filepath.Join(dir, "soon.key"))
	defer func() { _ = stop() }()
	if strings.Contains(logs.String(), "has expired") {
		t.Fatalf("warned of expiry before it:\n%s", logs.String())
	}
	time.Sleep(2 * time.Second)
	for range 3 {
		if conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}); err == nil {
			conn.Close()
		}
	}
	if n := strings.Count(logs.String(), "the TLS certificate in --tls-cert has expired"); n != 1 {
		t.Errorf("certificate expired while serving: %d warnings over 3 connections, want 1:\n%s", n, logs.String())
	}
}
