package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// refusesTokens is a store that cannot store a token: its disk is full,
// or the start was stopped as the token was written.
type refusesTokens struct {
	store.Store
	err error
}

func (r refusesTokens) CreateToken(context.Context, *pb.Token, [32]byte, bool) (*pb.Token, error) {
	return nil, r.err
}

// TestFirstTokenNotStoredLeavesNoFile: the first admin token's secret is
// written to --admin-token-file before the token is stored. When the store
// then refuses it, the file held a secret no token has: the operator was
// told nothing worked, and the next start refused with "file exists", or
// would have had them log in with a token the server does not know.
func TestFirstTokenNotStoredLeavesNoFile(t *testing.T) {
	for _, cause := range []error{syscall.ENOSPC, context.Canceled} {
		t.Run(cause.Error(), func(t *testing.T) {
			dir := t.TempDir()
			st, err := store.Open(filepath.Join(dir, "doorstep.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tokenFile := filepath.Join(dir, "admin.token")
			err = announceFirstToken(context.Background(), refusesTokens{Store: st, err: cause}, config{adminTokenFile: tokenFile}, io.Discard)
			if !errors.Is(err, cause) {
				t.Fatalf("first token refused by the store: %v, want it to say so", err)
			}
			if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the token file of a token never stored is left behind (%v): the next start refuses, and its secret works nowhere", err)
			}
		})
	}
}
