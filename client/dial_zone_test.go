package client_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/doorstep-aid/doorstep/client"
)

// TestDialZone dials an IPv6 address with its zone, "[fe80::1%eth0]:50051",
// the form a link-local address must take and one net.Dial takes; gRPC
// reads a target as a URL, where "%et" is a broken escape.
func TestDialZone(t *testing.T) {
	lis, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	var lo string
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			lo = i.Name
		}
	}
	if lo == "" {
		t.Skip("no loopback interface")
	}
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, health.NewServer())
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	_, port, _ := net.SplitHostPort(lis.Addr().String())

	// The second is escaped already, as one who met the refusal wrote it.
	for _, addr := range []string{net.JoinHostPort("::1%"+lo, port), net.JoinHostPort("::1%25"+lo, port)} {
		c, err := client.Dial(context.Background(), addr, client.WithInsecure())
		if err != nil {
			t.Errorf("Dial %s: %v", addr, err)
			continue
		}
		res, err := healthpb.NewHealthClient(c.Conn()).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health check at %s: %v, %v", addr, res.GetStatus(), err)
		}
		_ = c.Close()
	}
}
