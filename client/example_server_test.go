package client_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestMain gives the examples a real server on loopback, told to them as
// a partner's job is told of its own (DOORSTEP_ADDR, and DOORSTEP_TOKEN_FILE
// holding an admin token's secret), so that an example's body is a program
// a partner can copy whole. The examples share it (go test runs them once
// whatever -count says), each with an organisation of its own.
func TestMain(m *testing.M) {
	code, err := runWithExampleServer(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "example server:", err)
		code = 1
	}
	os.Exit(code)
}

func runWithExampleServer(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "doorstep-example-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "doorstep.db"))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if _, err := server.LoadGazetteer(context.Background(), st, samplePath); err != nil {
		return 0, err
	}
	secret, hash, err := server.NewSecret()
	if err != nil {
		return 0, err
	}
	if _, err := st.CreateToken(context.Background(), &pb.Token{DisplayName: "examples", Role: pb.Role_ROLE_ADMIN}, hash, false); err != nil {
		return 0, err
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		return 0, err
	}
	srv, err := server.New(st, zap.NewNop())
	if err != nil {
		return 0, err
	}
	g, _ := server.NewGRPCServer(srv, server.GRPCConfig{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	if err := os.Setenv("DOORSTEP_ADDR", lis.Addr().String()); err != nil {
		return 0, err
	}
	if err := os.Setenv("DOORSTEP_TOKEN_FILE", tokenFile); err != nil {
		return 0, err
	}
	return m.Run(), nil
}
