package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// interruptAfterBatch stores the first batch after stop is set, then
// stops the command (as SIGTERM does) before its answer arrives: the rows
// are stored, and the command never hears so.
type interruptAfterBatch struct {
	mu   sync.Mutex
	stop context.CancelFunc
}

func (i *interruptAfterBatch) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		i.mu.Lock()
		stop := i.stop
		i.stop = nil // the first batch only
		i.mu.Unlock()
		if info.FullMethod == pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName && stop != nil {
			stop()
			<-ctx.Done() // the command has gone
		}
		return resp, err
	})
}

// TestImportInterruptedSaysWhatMayBeStored: a cron job's import stopped
// by SIGTERM while a batch was with the server reported that batch's rows
// "not_sent" (and "not sent" in the text) though the server had stored
// them; a script trusting the report sent them some other way. They are
// unconfirmed; the rows of the batches after it were not sent.
func TestImportInterruptedSaysWhatMayBeStored(t *testing.T) {
	stopper := &interruptAfterBatch{}
	e := newTestEnvWith(t, stopper.option())
	var rows strings.Builder
	rows.WriteString(importHeader)
	const n = client.MaxImportBatch + 1
	for i := range n {
		fmt.Fprintf(&rows, "int-%d,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam %d,07700 90%04d\n", i, i, 600+i)
	}
	file := writeImportFile(t, "nightly.csv", rows.String())
	for _, asJSON := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		stopper.mu.Lock()
		stopper.stop = cancel
		stopper.mu.Unlock()
		args := []string{"import", file, "--org", org}
		if asJSON {
			args = append(args, "--json")
		}
		r := e.runCtx(ctx, "", args...)
		cancel()
		if r.code != exitInterrupted {
			t.Fatalf("json %v: exit %d, want %d; stderr %q", asJSON, r.code, exitInterrupted, r.stderr)
		}
		if got := len(e.storedRequests(store.HelpRequestFilter{})); got != client.MaxImportBatch {
			t.Fatalf("json %v: %d stored, want the first batch, %d", asJSON, got, client.MaxImportBatch)
		}
		if asJSON {
			got := importReport(t, r)
			for i, o := range got {
				want := "unconfirmed"
				if i >= client.MaxImportBatch {
					want = "not_sent"
				}
				if o.Outcome != want {
					t.Errorf("line %d is reported %q, want %q", o.Line, o.Outcome, want)
				}
			}
		} else if want := fmt.Sprintf("%d not confirmed (being sent as it stopped: they may be stored), 1 not sent", client.MaxImportBatch); !strings.Contains(r.stdout, want) {
			t.Errorf("stdout %q does not say %q", r.stdout, want)
		}
	}
}

// TestImportOfAnUnreachableServerSaysNothingWasSent: a cron job's import
// run while the server was down (or at a wrong address) reported its first
// batch "not confirmed: they may be stored", and "(1 rows)", though no
// connection was ever made and nothing could be stored: the operator was
// sent to look for rows that could not be there. Rows never sent are
// not_sent.
func TestImportOfAnUnreachableServerSaysNothingWasSent(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_ADDR"] = "127.0.0.1:1"
	for _, n := range []int{1, 3} {
		var rows strings.Builder
		rows.WriteString(importHeader)
		for i := range n {
			fmt.Fprintf(&rows, "down-%d,AB10 1AB,dog walking,tomorrow 10:00-12:00,Tam %d,07700 90%04d\n", i, i, 700+i)
		}
		file := writeImportFile(t, fmt.Sprintf("down-%d.csv", n), rows.String())
		r := e.run("import", file, "--org", org)
		if r.code != exitUnreachable {
			t.Fatalf("%d rows: exit %d, want %d; stderr %q", n, r.code, exitUnreachable, r.stderr)
		}
		rowWord := "rows"
		if n == 1 {
			rowWord = "row"
		}
		if want := fmt.Sprintf("0 created, 0 already there, 0 failed, %d not sent (%d %s).\n", n, n, rowWord); r.stdout != want {
			t.Errorf("%d rows: stdout %q, want %q", n, r.stdout, want)
		}
		if want := "Nothing was stored: Cannot reach the Doorstep server at 127.0.0.1:1."; !strings.HasPrefix(r.stderr, want) {
			t.Errorf("%d rows: stderr %q, want it to begin %q", n, r.stderr, want)
		}
		r = e.run("import", file, "--org", org, "--json")
		for _, o := range importReport(t, r) {
			if o.Outcome != "not_sent" {
				t.Errorf("%d rows, --json: line %d is reported %q, want not_sent", n, o.Line, o.Outcome)
			}
		}
	}
}
