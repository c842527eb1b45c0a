package server_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// BenchmarkCallMetrics is what the metrics cost a call: the cheapest call
// there is (a health check, through every interceptor), one caller over
// bufconn, with metrics off and on. Its allocations per call are client's
// and server's together; the difference between the two is the metrics'.
// Run the two alternately, for this shared machine's sake:
//
//	go test -c -o /tmp/server.test ./server/
//	for i in 1 2 3; do for m in off on; do /tmp/server.test -test.run '^$' -test.bench "CallMetrics/metrics=$m" -test.benchtime 50000x; done; done
func BenchmarkCallMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		b.Run(name, func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "doorstep.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			opts := []server.Option{server.WithRateLimit(0, 0)}
			if on {
				opts = append(opts, server.WithMetrics(server.NewMetrics()))
			}
			srv, err := server.New(st, zap.NewNop(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			g, _ := server.NewGRPCServer(srv, server.GRPCConfig{})
			lis := bufconn.Listen(1 << 20)
			go func() { _ = g.Serve(lis) }()
			defer g.Stop()
			conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			health := healthpb.NewHealthClient(conn)
			ctx := context.Background()
			req := &healthpb.HealthCheckRequest{}
			if _, err := health.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := health.Check(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
