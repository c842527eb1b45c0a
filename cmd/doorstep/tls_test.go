package main

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/doorstep-aid/doorstep/internal/testpki"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// testCert makes a certificate for 127.0.0.1, signed by parent (self-signed
// when parent is nil), as cmd/doorstepd's security tests do.
func testCert(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return testCertFor(t, name, parent, parentKey, isCA, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// testCertFor is testCert valid from notBefore to notAfter.
func testCertFor(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return testpki.Cert(t, name, parent, parentKey, isCA, notBefore, notAfter)
}

func writeCertPEM(t *testing.T, path string, cert *x509.Certificate) string {
	t.Helper()
	return testpki.WriteCert(t, path, cert)
}

// TestTLS runs the command against a server that speaks only TLS, with a
// certificate for 127.0.0.1 from a test CA.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCert(t, "test CA", nil, nil, true)
	srvCert, srvKey := testCert(t, "doorstepd", ca, caKey, false)
	other, _ := testCert(t, "other CA", nil, nil, true)
	caFile := writeCertPEM(t, filepath.Join(dir, "ca.pem"), ca)
	otherFile := writeCertPEM(t, filepath.Join(dir, "other.pem"), other)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
	})
	e := newTestEnvWith(t, grpc.Creds(creds))
	out := e.ok("--tls", "--ca-file", caFile, "request", "list")
	if out != "No requests in hand.\n" {
		t.Errorf("request list over TLS printed %q", out)
	}
	// --ca-file alone implies TLS, and flags may follow the command.
	e.ok("request", "list", "--ca-file", caFile)
	// The token travels over TLS too: an admin call.
	admin := e.newToken(pb.Role_ROLE_ADMIN)
	if out := e.ok("admin", "token", "list", "--ca-file", caFile, "--token", admin); !strings.Contains(out, "test ROLE_ADMIN") {
		t.Errorf("admin token list over TLS printed %q", out)
	}

	_, port, _ := strings.Cut(e.addr, ":")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"untrusted certificate", []string{"--tls", "request", "list"}, exitUnreachable,
			"The Doorstep server at " + e.addr + " has a certificate this computer does not trust: give the CA that signed it with --ca-file."},
		{"another CA", []string{"--ca-file", otherFile, "request", "list"}, exitUnreachable,
			"The Doorstep server at " + e.addr + " has a certificate this computer does not trust: give the CA that signed it with --ca-file."},
		{"plaintext to a TLS server", []string{"request", "list"}, exitUnreachable,
			"Cannot reach the Doorstep server at " + e.addr + ". Check the address (--addr or DOORSTEP_ADDR) and that the server is running; if it uses TLS, give --tls or --ca-file."},
		{"name not on the certificate", []string{"--addr", "localhost:" + port, "--ca-file", caFile, "request", "list"}, exitUnreachable,
			"The certificate of the Doorstep server at localhost:" + port + " is not for that name: give --addr the name or address its certificate was issued for."},
		{"ca file holds no certificate", []string{"--ca-file", notPEM, "request", "list"}, exitUsage,
			"--ca-file " + notPEM + " holds no PEM certificate."},
		{"ca file missing", []string{"--ca-file", filepath.Join(dir, "missing.pem"), "request", "list"}, exitUsage,
			"Cannot read --ca-file " + filepath.Join(dir, "missing.pem") + ": there is no such file."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			checkFailure(t, e.run(append(tc.args, "--timeout", "10s")...), true, tc.code, tc.want)
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v: a refused handshake should fail at once, not wait for the timeout", d)
			}
		})
	}

	// TLS to a server that speaks plaintext.
	plain := newTestEnv(t)
	checkFailure(t, plain.run("--tls", "request", "list"), true, exitUnreachable,
		"The Doorstep server at "+plain.addr+" does not use TLS: check the address, or, for a server on this machine, leave out --tls and --ca-file.")
}
