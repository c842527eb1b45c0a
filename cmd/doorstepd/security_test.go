package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/doorstep-aid/doorstep/internal/testpki"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// bearer sends a token; tests send it over plaintext loopback too.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

func readToken(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

// pki is a test CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type pki struct {
	dir                           string
	pool                          *x509.CertPool
	serverCert, serverKey, caFile string
	clientPair                    tls.Certificate
	otherClientPair               tls.Certificate // signed by a CA the server does not trust
	ca                            *x509.Certificate
	caKey                         *ecdsa.PrivateKey
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := certificate(t, "test CA", nil, nil, true)
	other, otherKey := certificate(t, "other CA", nil, nil, true)
	p := pki{dir: dir, pool: x509.NewCertPool(), ca: ca, caKey: caKey}
	p.pool.AddCert(ca)
	srv, srvKey := certificate(t, "doorstepd", ca, caKey, false)
	p.serverCert, p.serverKey, p.caFile = writePEM(t, dir, "server.pem", srv, srvKey), filepath.Join(dir, "server.key"), writePEM(t, dir, "ca.pem", ca, nil)
	cli, cliKey := certificate(t, "client", ca, caKey, false)
	p.clientPair = tls.Certificate{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}
	oc, ocKey := certificate(t, "stranger", other, otherKey, false)
	p.otherClientPair = tls.Certificate{Certificate: [][]byte{oc.Raw}, PrivateKey: ocKey}
	return p
}

func certificate(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return certificateFor(t, name, parent, parentKey, isCA, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// certificateFor is certificate valid from notBefore to notAfter.
func certificateFor(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return testpki.Cert(t, name, parent, parentKey, isCA, notBefore, notAfter)
}

func writePEM(t *testing.T, dir, name string, cert *x509.Certificate, key *ecdsa.PrivateKey) string {
	t.Helper()
	path := testpki.WriteCert(t, filepath.Join(dir, name), cert)
	if key != nil {
		testpki.WriteKey(t, strings.TrimSuffix(path, ".pem")+".key", key)
	}
	return path
}

func healthOver(addr string, opts ...grpc.DialOption) error {
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func TestTLSRefusesPlaintextClients(t *testing.T) {
	p := newPKI(t)
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	addr, stop := start(t, "--data-dir", t.TempDir(), "--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--admin-token-file", tokenFile)
	defer func() { _ = stop() }()
	if err := healthOver(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext client: %v, want UNAVAILABLE", err)
	}
	tlsCreds := credentials.NewTLS(&tls.Config{RootCAs: p.pool})
	if err := healthOver(addr, grpc.WithTransportCredentials(tlsCreds)); err != nil {
		t.Errorf("TLS client: %v", err)
	}
	// An authenticated call over TLS.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tlsCreds), grpc.WithPerRPCCredentials(bearer(readToken(t, tokenFile))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := pb.NewAdminServiceClient(conn).ListTokens(context.Background(), &pb.ListTokensRequest{}); err != nil {
		t.Errorf("admin call over TLS: %v", err)
	}
}

func TestTLSClientCertificates(t *testing.T) {
	p := newPKI(t)
	addr, stop := start(t, "--data-dir", t.TempDir(), "--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.caFile,
		"--admin-token-file", filepath.Join(t.TempDir(), "t"))
	defer func() { _ = stop() }()
	tests := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no client certificate", nil, false},
		{"certificate from another CA", []tls.Certificate{p.otherClientPair}, false},
		{"trusted client certificate", []tls.Certificate{p.clientPair}, true},
	}
	for _, tt := range tests {
		err := healthOver(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: p.pool, Certificates: tt.certs})))
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestPlaintextOnlyOnLoopback(t *testing.T) {
	err := run(context.Background(), nil, []string{"--listen", "0.0.0.0:0", "--data-dir", t.TempDir(), "--log-level", "error"},
		func(string) string { return "" }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "refusing to serve plaintext") {
		t.Fatalf("plaintext on every interface: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, []string{"--listen", "0.0.0.0:0", "--insecure", "--data-dir", t.TempDir(), "--log-level", "error"},
			func(string) string { return "" }, io.Discard, ready)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("--insecure: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}
}

func TestFirstAdminTokenOnce(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	_, stop := start(t, "--data-dir", dir, "--admin-token-file", tokenFile)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(tokenFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}
	first := readToken(t, tokenFile)
	// A restart on the same data leaves the file and makes no new token.
	_, stop = start(t, "--data-dir", dir, "--admin-token-file", tokenFile)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if readToken(t, tokenFile) != first {
		t.Error("the token file changed on restart")
	}
	// Without a file the token goes to stderr, once.
	var errOut strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "error"}, func(string) string { return "" }, &errOut, ready)
	}()
	<-ready
	cancel()
	<-done
	if !strings.Contains(errOut.String(), "ds_") {
		t.Errorf("stderr did not show the first token: %q", errOut.String())
	}
}
