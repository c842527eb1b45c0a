package store

import (
	"context"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestIDsAfterClockSetBackAcrossRestart: a clock set back while the
// server was down (NTP correcting a clock that ran fast) must not file
// the records made after the restart before those made before it: lists
// and the audit log are in id order.
func TestIDsAfterClockSetBackAcrossRestart(t *testing.T) {
	ctx := context.Background()
	fast := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	s, path := newStore(t, WithClock(func() time.Time { return fast }))
	first, err := s.CreateToken(ctx, &pb.Token{DisplayName: "before", Role: pb.Role_ROLE_HELPLINE}, [32]byte{1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, WithClock(func() time.Time { return fast.Add(-time.Hour) }))
	second, err := s.CreateToken(ctx, &pb.Token{DisplayName: "after", Role: pb.Role_ROLE_HELPLINE}, [32]byte{2}, false)
	if err != nil {
		t.Fatal(err)
	}
	toks, _, err := s.ListTokens(ctx, Page{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 || toks[0].Name != first.Name || toks[1].Name != second.Name {
		t.Errorf("tokens in order %v, want %s then %s", toks, first.Name, second.Name)
	}
}
