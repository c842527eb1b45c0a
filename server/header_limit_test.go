package server_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestHugeMetadataRefused: a call's metadata is held for as long as the
// call lasts, and a stream lasts for hours. Metadata of megabytes (a
// buggy client copying a payload into a header, or a hostile one) was
// taken, past the 1 MiB limit on messages: eight event streams and eight
// health watches, which need no token, with 4 MiB each held 64 MiB until
// they closed. Such a call is now refused before it starts.
func TestHugeMetadataRefused(t *testing.T) {
	h := newHarness(t)
	health := healthpb.NewHealthClient(h.dial())
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(h.ctx, "x-payload", strings.Repeat("a", 4<<20)))
	defer cancel()
	before := heapInUse()
	for _, tc := range []struct {
		name string
		open func() error
	}{
		{"event stream", func() error {
			s, err := h.ev.WatchEvents(ctx, &pb.WatchEventsRequest{})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}},
		{"health watch", func() error {
			s, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}},
		{"postcode lookup", func() error {
			_, err := h.gz.LookupPostcode(ctx, &pb.LookupPostcodeRequest{Postcode: "AB10 1AB"})
			return err
		}},
	} {
		for i := range 8 {
			if err := tc.open(); err == nil {
				t.Errorf("%s %d with 4 MiB of metadata was taken", tc.name, i)
			}
		}
	}
	if held := (heapInUse() - before) >> 20; held > 16 {
		t.Errorf("the open calls hold %d MiB", held)
	}
}
