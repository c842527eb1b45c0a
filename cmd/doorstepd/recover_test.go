package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func noEnv(string) string { return "" }

// An admin who lost the only admin token (or let it expire) gets another
// by running doorstepd --new-admin-token on the stopped server's data:
// it works, and the first still does too.
func TestNewAdminTokenWhenNoneIsLeft(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(t.TempDir(), "first.token")
	_, stop := start(t, "--data-dir", dir, "--admin-token-file", first)

	// While the server runs, the file is locked: it says to stop it.
	err := run(context.Background(), nil, []string{"--data-dir", dir, "--new-admin-token", "--log-level", "error"}, noEnv, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "stop the server first") {
		t.Fatalf("with the server running: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	second := filepath.Join(t.TempDir(), "second.token")
	var out strings.Builder
	if err := run(context.Background(), nil, []string{"--data-dir", dir, "--new-admin-token", "--admin-token-file", second, "--log-level", "error"}, noEnv, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), second) || strings.Contains(out.String(), "ds_") {
		t.Errorf("stderr %q: want it to name the file, not show the secret", out.String())
	}

	// Without a file, the secret goes to stderr once.
	out.Reset()
	if err := run(context.Background(), nil, []string{"--data-dir", dir, "--new-admin-token", "--log-level", "error"}, noEnv, &out, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	third := lines[len(lines)-1]
	if !strings.HasPrefix(third, "ds_") {
		t.Fatalf("stderr %q: want the secret", out.String())
	}

	addr, stop := start(t, "--data-dir", dir, "--admin-token-file", filepath.Join(t.TempDir(), "unused"))
	defer stop()
	for _, secret := range []string{readToken(t, first), readToken(t, second), third} {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(secret)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := pb.NewAdminServiceClient(conn).ListTokens(context.Background(), &pb.ListTokensRequest{})
		conn.Close()
		if err != nil {
			t.Fatalf("an admin call with a token: %v", err)
		}
		var recovery int
		for _, tok := range resp.Tokens {
			if tok.Role == pb.Role_ROLE_ADMIN && tok.Creator == "recovery" {
				recovery++
			}
		}
		if len(resp.Tokens) != 3 || recovery != 2 {
			t.Errorf("tokens %v: want the first and two recovery admin tokens", resp.Tokens)
		}
	}
}

// On a directory with no data file, --new-admin-token makes nothing: a
// new file's first admin token comes from starting the server.
func TestNewAdminTokenNeedsAFile(t *testing.T) {
	dir := t.TempDir()
	err := run(context.Background(), nil, []string{"--data-dir", dir, "--new-admin-token", "--log-level", "error"}, noEnv, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "no data file") {
		t.Fatalf("%v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("it left %v in the data directory", left)
	}
}
