package server_test

import (
	"testing"

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
