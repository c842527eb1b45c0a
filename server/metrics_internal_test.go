package server

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// BenchmarkMetricsInterceptor is the counting alone, around an
// interceptor and a handler that do nothing: what metrics add to every
// call's CPU.
func BenchmarkMetricsInterceptor(b *testing.B) {
	calls := NewMetrics().newCallMetrics()
	unary := calls.wrapUnary(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(ctx, req)
	})
	calls.register(map[string]grpc.ServiceInfo{"doorstep.v1.MatchingService": {Methods: []grpc.MethodInfo{{Name: "GetOffer"}}}})
	info := &grpc.UnaryServerInfo{FullMethod: "/doorstep.v1.MatchingService/GetOffer"}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"ok", nil},
		{"refused", status.Error(codes.NotFound, "no such offer")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			handler := func(context.Context, any) (any, error) { return nil, tc.err }
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = unary(ctx, nil, info, handler)
			}
		})
	}
}

// TestMetricsCodesAreGRPCs: a handler's error that is no status counts as
// Unknown, and a code beyond gRPC's as Unknown too, as callers read them:
// the code label takes gRPC's seventeen words only.
func TestMetricsCodesAreGRPCs(t *testing.T) {
	m := NewMetrics()
	calls := m.newCallMetrics()
	calls.register(map[string]grpc.ServiceInfo{"svc": {Methods: []grpc.MethodInfo{{Name: "M"}}}})
	unary := calls.wrapUnary(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(ctx, req)
	})
	for _, err := range []error{errors.New("plain"), status.Error(codes.Code(99), "made up"), nil} {
		_, _ = unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/svc/M"}, func(context.Context, any) (any, error) { return nil, err })
	}
	// A method gRPC never registered (it refuses those before any
	// interceptor) is not named after what the caller sent.
	_, _ = unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/Zebedee/Quillfeather"}, func(context.Context, any) (any, error) { return nil, nil })
	got := handled(t, m)
	want := map[[3]string]float64{{"svc", "M", "Unknown"}: 2, {"svc", "M", "OK"}: 1, {"unknown", "unknown", "OK"}: 1}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v: %v, want %v", k, got[k], v)
		}
	}
}

// handled gathers grpc_server_handled_total from m by service, method and
// code, through a pedantic registry, which also checks that m collects
// only what it describes.
func handled(t *testing.T, m *Metrics) map[[3]string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[3]string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range s.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[[3]string{l["grpc_service"], l["grpc_method"], l["grpc_code"]}] = s.GetCounter().GetValue()
		}
	}
	return out
}
