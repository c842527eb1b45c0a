package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// TestErrorLinesNotSampled: an INTERNAL error's caller is given an incident
// id to quote, and the server's error line carries it. zap's sampling (100
// a second of one message, then 1 in 100) dropped error lines too, so in a
// storm the line a caller quoted could be missing. Lines below error are
// still sampled; error lines all stay.
func TestErrorLinesNotSampled(t *testing.T) {
	for _, tc := range []struct {
		level string
		log   func(l *zap.Logger, i int)
		want  func(n int) bool
	}{
		{"error", func(l *zap.Logger, i int) { l.Error("internal error", zap.Int("i", i)) }, func(n int) bool { return n == 300 }},
		{"info", func(l *zap.Logger, i int) { l.Info("swept", zap.Int("i", i)) }, func(n int) bool { return n > 0 && n < 300 }},
	} {
		t.Run(tc.level, func(t *testing.T) {
			var out bytes.Buffer
			c, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			l, err := newLogger(c, &out)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 300 {
				tc.log(l, i)
			}
			if n := strings.Count(out.String(), "\n"); !tc.want(n) {
				t.Errorf("300 %s lines of one message at once: %d written", tc.level, n)
			}
		})
	}
}
