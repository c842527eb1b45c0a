package server_test

import (
	"context"
	"sync/atomic"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// countingTokens counts the token reads the server makes.
type countingTokens struct {
	store.Store
	reads atomic.Int64
}

func (c *countingTokens) TokenByHash(ctx context.Context, hash [32]byte) (*pb.Token, error) {
	c.reads.Add(1)
	return c.Store.TokenByHash(ctx, hash)
}

// TestTokenReadOncePerCall: the tap that refuses a call without a usable
// token before its message is read hands the token it read to the call's
// authentication, which read and hashed it a second time on every call.
func TestTokenReadOncePerCall(t *testing.T) {
	h := newHarness(t)
	c := &countingTokens{}
	h.wrap = func(st store.Store) store.Store { c.Store = st; return c }
	h.reopen()
	const calls = 20
	before := c.reads.Load()
	for range calls {
		if _, err := h.vol.ListVolunteers(h.ctx, &pb.ListVolunteersRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.reads.Load() - before; got != calls {
		t.Errorf("%d calls read the token %d times, want once each", calls, got)
	}
}
