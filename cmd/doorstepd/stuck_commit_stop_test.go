package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestSecondSignalEndsAStopHeldByAStuckCommit: on a disk that stops
// answering (a network volume whose server went away), a commit's fsync
// never returns. The stop cancelled the calls at --shutdown-timeout or at
// the second signal, then waited for ever for the call whose write was in
// that commit, and for the store to close: only a third signal, or
// systemd's SIGKILL, ended it. A second signal now ends the stop without
// waiting for the commit; bbolt's file is whole at any instant, and every
// write acknowledged is on disk already.
func TestSecondSignalEndsAStopHeldByAStuckCommit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout string // --shutdown-timeout
		early   bool   // the second signal comes before the timeout
	}{
		{"second signal within the timeout", "1h", true},
		{"second signal after the timeout", "0s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hold := holdCommits(t) // held until the test ends: a sync that never returns
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			force := make(chan struct{})
			addr, done := runInProcess(t, ctx, force, "--data-dir", dir, "--admin-token-file", dir+"/admin.token", "--shutdown-timeout", tc.timeout)
			tok, err := os.ReadFile(dir + "/admin.token")
			if err != nil {
				t.Fatal(err)
			}
			conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			hold.arm()
			go func() {
				cctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+strings.TrimSpace(string(tok)))
				_, _ = pb.NewAdminServiceClient(conn).CreateOrganisation(cctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{Name: "organisations/granite-foodbank", DisplayName: "Granite Food Bank"}})
			}()
			<-hold.held
			stop()
			if tc.early {
				close(force)
			} else {
				// Past the timeout's cancel, the stop waits on the call held.
				time.Sleep(100 * time.Millisecond)
				close(force)
			}
			// The commit stays held until the test ends: the bound only
			// keeps a stop that waits for it from hanging the test.
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("a second signal did not end a stop held by a commit that never ends")
			}
		})
	}
}
