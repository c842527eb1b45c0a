package main

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-aid/doorstep/internal/testpki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// writeKeyPEM writes key beside its certificate, as certPath less .pem
// plus .key.
func writeKeyPEM(t *testing.T, certPath string, key *ecdsa.PrivateKey) string {
	t.Helper()
	return testpki.WriteKey(t, strings.TrimSuffix(certPath, ".pem")+".key", key)
}

// TestTLSClientCertificate runs the command against a server started with
// --tls-client-ca, as an operator does once partners connect with mutual
// TLS: the helpline and admins must get through with a certificate of
// their own, and be told in a sentence what is wrong with a missing or
// refused one.
func TestTLSClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCert(t, "test CA", nil, nil, true)
	srvCert, srvKey := testCert(t, "doorstepd", ca, caKey, false)
	other, otherKey := testCert(t, "other CA", nil, nil, true)
	caFile := writeCertPEM(t, filepath.Join(dir, "ca.pem"), ca)

	clientCert := func(name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, expired bool) (string, string) {
		c, k := testCert(t, name, parent, parentKey, false)
		if expired {
			c, k = testCertFor(t, name, parent, parentKey, false, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		}
		path := writeCertPEM(t, filepath.Join(dir, name+".pem"), c)
		return path, writeKeyPEM(t, path, k)
	}
	goodCert, goodKey := clientCert("helpline", ca, caKey, false)
	strangerCert, strangerKey := clientCert("stranger", other, otherKey, false)
	expiredCert, expiredKey := clientCert("expired", ca, caKey, true)
	expiredOn := time.Now().Add(-24 * time.Hour).UTC().Format("2 January 2006")
	_, otherPairKey := clientCert("another", ca, caKey, false)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	creds := credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
		ClientCAs:    pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	e := newTestEnvWith(t, grpc.Creds(creds))
	if out := e.ok("--ca-file", caFile, "--cert", goodCert, "--key", goodKey, "request", "list"); out != "No requests in hand.\n" {
		t.Errorf("request list with a client certificate printed %q", out)
	}
	// --cert alone implies TLS, as --ca-file does, and may follow the command.
	e.ok("request", "list", "--ca-file", caFile, "--cert", goodCert, "--key", goodKey)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // one of these: which the client reads depends on timing
	}{
		{"no client certificate", []string{"--ca-file", caFile, "request", "list"}, exitUnreachable, []string{
			"The Doorstep server at " + e.addr + " asks for a client certificate: give yours with --cert and --key.",
			"The Doorstep server at " + e.addr + " closed the secure connection at once: if it asks for a client certificate, give yours with --cert and --key."}},
		{"certificate from another CA", []string{"--ca-file", caFile, "--cert", strangerCert, "--key", strangerKey, "request", "list"}, exitUnreachable, []string{
			"The Doorstep server at " + e.addr + " does not accept the client certificate in --cert " + strangerCert + ": it was not signed by a CA the server trusts.",
			"The Doorstep server at " + e.addr + " closed the secure connection at once: it may not accept the client certificate in --cert " + strangerCert + " (not signed by a CA it trusts)."}},
		{"expired client certificate", []string{"--ca-file", caFile, "--cert", expiredCert, "--key", expiredKey, "request", "list"}, exitUsage, []string{
			"The client certificate in --cert " + expiredCert + " expired on " + expiredOn + ": ask for a new one, or check this computer's clock."}},
		{"cert without key", []string{"--ca-file", caFile, "--cert", goodCert, "request", "list"}, exitUsage, []string{
			"--cert and --key go together: give the client certificate and its private key."}},
		{"key of another certificate", []string{"--ca-file", caFile, "--cert", goodCert, "--key", otherPairKey, "request", "list"}, exitUsage, []string{
			"Cannot use --cert " + goodCert + " with --key " + otherPairKey + ": the key is not the certificate's."}},
		{"with --insecure", []string{"--insecure", "--cert", goodCert, "--key", goodKey, "request", "list"}, exitUsage, []string{
			"--insecure turns TLS off: give it without --tls, --ca-file, --cert and --key."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(append(tc.args, "--timeout", "10s")...)
			want := tc.want[0]
			for _, w := range tc.want {
				if strings.TrimSpace(r.stderr) == w {
					want = w
				}
			}
			checkFailure(t, r, true, tc.code, want)
		})
	}
}

// TestTLSClientKeyEncrypted: a client key kept with a passphrase (as
// openssl and many IT departments hand one out) is a PEM private key; the
// worker is told it is encrypted and how to make the copy doorstep can
// read, not that it is not a PEM key.
func TestTLSClientKeyEncrypted(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCert(t, "test CA", nil, nil, true)
	c, k := testCert(t, "helpline", ca, caKey, false)
	certPath := writeCertPEM(t, filepath.Join(dir, "helpline.pem"), c)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// What encryption made of the key, as far as a parser can tell.
	sealed := make([]byte, len(der))
	for i := range sealed {
		sealed[i] = der[i] ^ 0x5a
	}
	pkcs8 := filepath.Join(dir, "pkcs8.key")
	if err := os.WriteFile(pkcs8, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: sealed}), 0o600); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(dir, "legacy.key")
	if err := os.WriteFile(legacy, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sealed,
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t)
	for _, key := range []string{pkcs8, legacy} {
		r := e.run("--cert", certPath, "--key", key, "request", "list")
		checkFailure(t, r, true, exitUsage, "The private key in --key "+key+" is encrypted with a passphrase, which doorstep cannot ask for: "+
			"make a copy without it that only you can read (openssl pkey -in "+key+" -out NEW.key) and give that.")
	}
}

// TestTLSClientCertificateToPlaintextServer: --cert implies TLS, so a
// worker told to leave out only --tls and --ca-file against a plaintext
// server on this machine met the same refusal again.
func TestTLSClientCertificateToPlaintextServer(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCert(t, "test CA", nil, nil, true)
	c, k := testCert(t, "helpline", ca, caKey, false)
	certPath := writeCertPEM(t, filepath.Join(dir, "helpline.pem"), c)
	keyPath := writeKeyPEM(t, certPath, k)
	plain := newTestEnv(t)
	checkFailure(t, plain.run("--cert", certPath, "--key", keyPath, "request", "list"), true, exitUnreachable,
		"The Doorstep server at "+plain.addr+" does not use TLS: check the address, or, for a server on this machine, leave out --tls, --ca-file, --cert and --key.")
}
