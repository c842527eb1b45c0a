package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestDispatchLogsQuietRunsAtDebug: a dispatch run with nothing open (every
// interval of a quiet night) logs at debug, not info, where operators
// would read hundreds of empty lines a day; a run with open requests is
// still logged at info.
func TestDispatchLogsQuietRunsAtDebug(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		open bool
		want zapcore.Level
	}{
		{"nothing open", false, zapcore.DebugLevel},
		{"a request open", true, zapcore.InfoLevel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.open {
				h.createHR(shopping())
			}
			before := h.logs.FilterMessage("dispatched").Len()
			if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
				t.Fatal(err)
			}
			got := h.logs.FilterMessage("dispatched").All()
			if len(got) != before+1 {
				t.Fatalf("%d dispatched lines after one run, want %d", len(got), before+1)
			}
			if l := got[len(got)-1].Level; l != tc.want {
				t.Errorf("dispatched logged at %v, want %v", l, tc.want)
			}
		})
	}
}

// TestDispatchLogSaysWhatStartedTheRun: the morning after, the log is the
// only summary of the night's runs made on the interval (nobody reads
// their reply), beside any a coordinator asked for. Each run's line says
// which it was, as the metrics' trigger label does, so that an operator
// can tell the server's own runs from a person's.
func TestDispatchLogSaysWhatStartedTheRun(t *testing.T) {
	h := newHarness(t)
	h.createVol(matchVolunteer("Ann", "AB10 1AB", func(v *pb.Volunteer) { v.Capacity = 2 }))
	h.createHR(shopping(callerPhone("01224 100001")))
	if _, err := h.match.Dispatch(h.ctx, &pb.DispatchRequest{}); err != nil {
		t.Fatal(err)
	}
	overnight := h.createHR(shopping(callerPhone("01224 100002")))
	_ = h.dispatchedByInterval(t, overnight.Name, 20*time.Millisecond)
	var triggers []string
	for _, l := range h.logs.FilterMessage("dispatched").All() {
		if fmt.Sprint(l.ContextMap()["offers"]) == "1" {
			tr, _ := l.ContextMap()["trigger"].(string)
			triggers = append(triggers, tr)
		}
	}
	if !slices.Equal(triggers, []string{"rpc", "interval"}) {
		t.Errorf("the two runs that made an offer logged triggers %q, want [rpc interval]", triggers)
	}
}
