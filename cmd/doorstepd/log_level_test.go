package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestBadLogLevelSaysWhatWould: at 2am an operator restarting doorstepd
// with --log-level verbose (or trace) to see more was told only
// `unrecognized level: "verbose"`, zap's words, while --log-format's
// mistake says what would do. Both say it; and zap's levels past error
// (fatal, panic), which the flag does not offer and which silence every
// error line an operator needs, are refused too.
func TestBadLogLevelSaysWhatWould(t *testing.T) {
	for _, level := range []string{"verbose", "trace", "notice", "fatal", "panic", "dpanic"} {
		stopped, cancel := context.WithCancel(context.Background())
		cancel() // a start the level lets through stops before serving
		err := run(stopped, nil, []string{"--log-level", level, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, noEnv, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "--log-level") || !strings.Contains(err.Error(), "debug, info, warn or error") {
			t.Errorf("--log-level %s: %v, want an error naming the flag and debug, info, warn or error", level, err)
		}
	}
	for _, level := range []string{"debug", "info", "warn", "error", "WARN", "warning"} {
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		if err := run(stopped, nil, []string{"--log-level", level, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, noEnv, io.Discard, nil); err != nil {
			t.Errorf("--log-level %s: %v", level, err)
		}
	}
}
