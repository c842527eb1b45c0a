package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/doorstep-aid/doorstep/client"
	"github.com/doorstep-aid/doorstep/internal/testpki"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// tlsCert makes a certificate for doorstep.test, valid from notBefore to
// notAfter, signed by parent (itself when parent is nil).
func tlsCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return testpki.Cert(t, "doorstep.test", parent, parentKey, isCA, notBefore, notAfter)
}

// TestDescribeServerCertificate: a partner's app dialling a server whose
// certificate it cannot trust gets a sentence saying what is wrong with
// it, not Go's x509 wording and not "try again shortly", which no retry
// would make true.
func TestDescribeServerCertificate(t *testing.T) {
	now := time.Now()
	ca, caKey := tlsCert(t, nil, nil, true, now.Add(-time.Hour), now.Add(time.Hour))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	good, goodKey := tlsCert(t, ca, caKey, false, now.Add(-time.Hour), now.Add(time.Hour))
	expired, expiredKey := tlsCert(t, ca, caKey, false, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	self, selfKey := tlsCert(t, nil, nil, false, now.Add(-time.Hour), now.Add(time.Hour))

	for _, tc := range []struct {
		name       string
		cert       *x509.Certificate
		key        *ecdsa.PrivateKey
		serverName string
		want       string
	}{
		{"self-signed", self, selfKey, "doorstep.test",
			"The server's certificate is not trusted: it was signed by a CA this client does not know, or by the server itself; give the client the CA that signed it (tls.Config RootCAs)."},
		{"expired", expired, expiredKey, "doorstep.test",
			"The server's certificate has expired or is not yet valid; it must be renewed, or this computer's clock is wrong."},
		{"another name", good, goodKey, "doorstep.example.org",
			"The server's certificate is not for the name dialled; dial the name it was issued for, or set tls.Config ServerName to it."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{tc.cert.Raw}, PrivateKey: tc.key}}})
			s := newTestServer(t, grpc.Creds(creds))
			c, err := client.Dial(context.Background(), "passthrough:///bufnet",
				client.WithTLS(&tls.Config{RootCAs: pool, ServerName: tc.serverName}), client.WithToken(s.token),
				client.WithRetry(0, 0), client.WithDialOptions(s.dialOption()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.HelpRequests.ListHelpRequests(context.Background(), &pb.ListHelpRequestsRequest{})
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if got := client.Describe(err); got != tc.want {
				t.Errorf("Describe:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
