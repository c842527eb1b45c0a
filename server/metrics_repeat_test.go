package server_test

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"sync"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// pairedOffers is a store whose CreateOffer waits until a second call
// has come to it too, then lets them write one after the other: a
// CreateOffer and its repeat (same request_id) both past their checks
// before either has written, as when a proxy resends a call still being
// answered.
type pairedOffers struct {
	store.Store
	mu     sync.Mutex
	come   int
	paired chan struct{} // closed when the second call comes
	turn   sync.Mutex
}

func (s *pairedOffers) CreateOffer(ctx context.Context, p store.OfferParams) (store.LifecycleResult, error) {
	s.mu.Lock()
	if s.come++; s.come == 2 {
		close(s.paired)
	}
	s.mu.Unlock()
	select {
	case <-s.paired:
	case <-time.After(10 * time.Second):
	}
	s.turn.Lock()
	defer s.turn.Unlock()
	return s.Store.CreateOffer(ctx, p)
}

// TestMetricsCountARacedRepeatOnce: a CreateOffer and its repeat reach
// the store together; the store makes one offer and answers both with
// it. One offer was made, and the metrics say one, so that offers made
// less ended is the offers waiting for an answer.
func TestMetricsCountARacedRepeatOnce(t *testing.T) {
	m := server.NewMetrics()
	h := newHarness(t)
	vol := h.createVol(matchVolunteer("Ann", "AB10 1AB")).Name
	hr := h.createHR(shopping()).Name
	paired := &pairedOffers{paired: make(chan struct{})}
	h.wrap = func(st store.Store) store.Store { paired.Store = st; return paired }
	h.opts = append(h.opts, server.WithMetrics(m))
	h.reopen()
	var wg sync.WaitGroup
	names := make([]string, 2)
	for i := range 2 {
		wg.Go(func() {
			r, err := h.match.CreateOffer(h.ctx, &pb.CreateOfferRequest{HelpRequest: hr, Volunteer: vol, RequestId: "4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"})
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			names[i] = r.Offer.Name
		})
	}
	wg.Wait()
	if names[0] != names[1] {
		t.Fatalf("two offers made: %v", names)
	}
	if got := gatherValue(t, m, "doorstep_offers_made_total", map[string]string{"via": "hand"}); got != 1 {
		t.Errorf("offers made by hand: %v, want 1", got)
	}
}

// gatherValue is the value of the series of metric name with labels,
// gathered from m; 0 if there is none.
func gatherValue(t *testing.T, m *server.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue series
				}
			}
			return s.GetCounter().GetValue() + s.GetGauge().GetValue()
		}
	}
	return 0
}
