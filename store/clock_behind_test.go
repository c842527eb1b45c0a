package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestOpenWarnsOfClockBehindData: a start whose clock reads before the
// newest record (a flat CMOS battery, a disk moved to a box whose clock
// is wrong) stamps and judges leases, windows and retention by it. The
// operator must be told at the start, with both times, not find out from
// requests closed in 1970.
func TestOpenWarnsOfClockBehindData(t *testing.T) {
	for _, tc := range []struct {
		name string
		step time.Duration
		warn bool
	}{
		{"on time", 0, false},
		{"a few seconds behind", -5 * time.Second, false},
		{"an hour behind", -time.Hour, true},
		{"in 1970", -time.Since(time.Unix(0, 0)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "doorstep.db")
			at := time.Now()
			st, err := store.Open(path, store.WithClock(func() time.Time { return at }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateToken(context.Background(), &pb.Token{DisplayName: "desk 1", Role: pb.Role_ROLE_HELPLINE}, [32]byte{1}, false); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zapcore.WarnLevel)
			at = at.Add(tc.step)
			st, err = store.Open(path, store.WithClock(func() time.Time { return at }), store.WithLogger(zap.New(core)))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			warned := logs.FilterMessageSnippet("clock reads before the newest record").Len() > 0
			if warned != tc.warn {
				t.Errorf("warned %v, want %v: %v", warned, tc.warn, logs.All())
			}
		})
	}
}
