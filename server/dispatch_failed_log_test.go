package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// offersRefused is a store on a full disk as dispatch meets it: every
// batch of offers is refused.
type offersRefused struct {
	store.Store
	runs atomic.Int32
}

func (d *offersRefused) CreateOffers(context.Context, []store.OfferParams) ([]store.LifecycleResult, []error, error) {
	d.runs.Add(1)
	return nil, nil, noSpace("create offers")
}

// TestDispatchFailedRunIsLoggedAsAnError: a dispatch run that fails counts
// in doorstep_dispatch_runs_total like a quiet one, with nothing offered
// and nothing left open, so the metrics alone cannot tell an operator
// that runs fail. The log must: whether a coordinator asked for the run
// or the interval did (whose reply nobody reads), the failure is logged at
// error level with its cause.
func TestDispatchFailedRunIsLoggedAsAnError(t *testing.T) {
	for _, trigger := range []string{"rpc", "interval"} {
		t.Run(trigger, func(t *testing.T) {
			h := newHarness(t)
			h.createVol(matchVolunteer("Ann", "AB10 1AB"))
			h.createHR(shopping())
			d := &offersRefused{}
			h.wrap = func(st store.Store) store.Store { d.Store = st; return d }
			h.reopen()
			switch trigger {
			case "rpc":
				_, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{})
				wantDiskFull(t, "dispatch", err)
			case "interval":
				ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
				done := make(chan error, 1)
				go func() { done <- h.srv.Maintain(ctx, time.Hour, 20*time.Millisecond) }()
				for d.runs.Load() < 2 && ctx.Err() == nil {
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
				<-done
				if d.runs.Load() < 2 {
					t.Fatal("no two interval runs within 10s")
				}
			}
			var lines []string
			for _, e := range h.logs.All() {
				line := e.Level.String() + " " + e.Message + " " + fmt.Sprint(e.ContextMap())
				if e.Level >= zapcore.ErrorLevel && strings.Contains(line, "no space left on device") {
					return
				}
				lines = append(lines, line)
			}
			t.Errorf("a failed %s dispatch run: no error-level line gives its cause:\n%s", trigger, strings.Join(lines, "\n"))
		})
	}
}
