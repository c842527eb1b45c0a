package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/doorstep-aid/doorstep/server"
)

// metricsRegistry is what GET /metrics serves: the server's own metrics
// and the Go runtime's and the process's. A registry of doorstepd's own,
// not the global one, so that nothing a library registers as a side
// effect of being imported is served without having been looked at.
func metricsRegistry(m *server.Metrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m)
	return reg
}

// metricsHandler serves GET /metrics in Prometheus' text format, and
// nothing else: every other path is 404, another method 405.
func metricsHandler(reg *prometheus.Registry, logger *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(logger),
		// A scrape reads counters and the index's size: a few at once is
		// all a Prometheus pair needs, and more is someone's loop.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	return mux
}

// serveMetrics serves the metrics on lis until stopMetrics; a failure to
// serve is sent on failed, as the gRPC server's is.
func serveMetrics(lis net.Listener, m *server.Metrics, logger *zap.Logger, failed chan<- error) *http.Server {
	hs := &http.Server{
		Handler: metricsHandler(metricsRegistry(m), logger),
		// Unauthenticated, so bounded: a client that trickles its request
		// or never reads the reply is let go.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(logger),
	}
	go func() {
		if err := hs.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("metrics: %w", err)
		}
	}()
	logger.Info("serving metrics", zap.String("addr", lis.Addr().String()), zap.String("path", "/metrics"))
	return hs
}

// metricsStopTimeout bounds how long a scrape under way may finish at the
// stop: it reads only what is in memory, in milliseconds.
const metricsStopTimeout = 5 * time.Second

// stopMetrics lets a scrape under way finish, up to metricsStopTimeout or
// until force is closed (nil: never), then closes the server.
func stopMetrics(hs *http.Server, force <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsStopTimeout)
	defer cancel()
	go func() {
		select {
		case <-force:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := hs.Shutdown(ctx); err != nil {
		_ = hs.Close()
	}
}
