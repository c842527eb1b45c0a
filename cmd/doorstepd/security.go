package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"google.golang.org/grpc/credentials"

	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// transportCredentials builds TLS from the configured files, or returns
// nil for plaintext.
func transportCredentials(c config) (credentials.TransportCredentials, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.tlsClientCA != "" {
		pem, err := os.ReadFile(c.tlsClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls client ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls client ca: no PEM certificates in " + c.tlsClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg), nil
}

// loopback says whether addr is reachable only from this machine.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// announceFirstToken makes the first admin token on an empty store and
// hands its secret over once: to a new file only its owner can read, or to
// stderr. Never to the log, which is kept and shipped elsewhere.
//
// The secret is written out before the token is stored, so that a file
// that cannot be written never leaves an admin token nobody holds.
func announceFirstToken(ctx context.Context, st store.Store, c config, stderr io.Writer) error {
	if toks, _, err := st.ListTokens(ctx, store.Page{Size: 1}); err != nil {
		return fmt.Errorf("first admin token: %w", err)
	} else if len(toks) > 0 {
		return nil
	}
	secret, hash, err := server.NewSecret()
	if err != nil {
		return fmt.Errorf("first admin token: %w", err)
	}
	if c.adminTokenFile != "" {
		if err := writeSecret(c.adminTokenFile, secret); err != nil {
			return fmt.Errorf("admin token file: %w", err)
		}
	}
	_, err = st.CreateToken(ctx, server.FirstAdminToken(), hash, true)
	if errors.Is(err, store.ErrExists) {
		// Another process made the first token in between.
		if c.adminTokenFile != "" {
			_ = os.Remove(c.adminTokenFile)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("first admin token: %w", err)
	}
	if c.adminTokenFile == "" {
		_, err := fmt.Fprintf(stderr, "doorstepd: the first admin token, shown only this once; keep it safe:\n%s\n", secret)
		return err
	}
	_, err = fmt.Fprintf(stderr, "doorstepd: the first admin token is in %s\n", c.adminTokenFile)
	return err
}

// writeSecret writes a new file only its owner can read.
func writeSecret(path, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, secret); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
