package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

func (a *app) watch(args []string) error {
	u := usage{
		synopsis: "doorstep watch [--from REV] [--type TYPES] [--org ORG]",
		text: `Prints every change to requests, offers and volunteers as it happens, one line per event, until Ctrl-C.
If the server cannot be reached at the start it stops (exit 4); once connected, it reconnects by itself
after a disconnect, saying so on stderr, and misses nothing. Each line starts with the revision: to
carry on later where you stopped, give --from one past the last revision printed. Events name records
but hold none of their contents: look one up with doorstep request show or volunteer show.`,
		examples: []string{
			"doorstep watch",
			"doorstep watch --type offer_created,offer_declined,offer_expired --org aberdeen-mutual-aid",
			"doorstep watch --from 1042 --json",
		},
	}
	cmd := a.begin("watch", u)
	from := cmd.fs.Int64("from", 0, "first revision to print; 0 starts from now")
	types := cmd.fs.String("type", "", "only these event types, e.g. help_request_created,offer_declined")
	org := cmd.fs.String("org", "", "only this organisation's events")
	if _, err := cmd.exactly(args, 0); err != nil {
		return err
	}
	if *from < 0 {
		return usageErrorf("--from must not be negative")
	}
	ts, err := parseEventTypes(*types)
	if err != nil {
		return usageErrorf("--type: %v", err)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	w := &eventWatch{a: a, c: c, next: *from,
		req: &pb.WatchEventsRequest{Types: ts, Organisation: strings.ToLower(strings.TrimSpace(*org))}}
	err = w.run()
	if a.ctx.Err() != nil && errors.Is(err, a.ctx.Err()) {
		return nil // Ctrl-C is how a watch ends
	}
	return err
}

// eventWatch is one doorstep watch across its streams. Unlike
// client.Watch, it gives up when the first stream cannot be opened (a
// wrong address or a server that is down should not look like a quiet
// afternoon) and says on stderr when a working stream breaks and when it
// is back. As client.Watch, it resumes one past the last revision printed,
// so that a reconnect neither loses nor repeats events.
type eventWatch struct {
	a    *app
	c    *client.Client
	req  *pb.WatchEventsRequest // the filters; the start revision is next
	next int64                  // the revision to ask for on (re)connecting
	// started says that a stream has answered; down, that the stream broke
	// and "reconnecting" was said.
	started, down bool
}

// printError marks an error from printing, which ends the watch as it is.
type printError struct{ err error }

func (e printError) Error() string { return e.err.Error() }

func (w *eventWatch) run() error {
	for attempt := 0; ; attempt++ {
		answered, err := w.stream()
		var pe printError
		switch {
		case errors.As(err, &pe):
			return pe.err
		case w.a.ctx.Err() != nil:
			return w.a.ctx.Err()
		case !w.started:
			return err // never connected: "Cannot reach the Doorstep server", or the token's refusal
		case !resumable(err):
			return err
		}
		if answered {
			attempt = 0
		}
		if !w.down {
			w.down = true
			fmt.Fprintln(w.a.stderr, "Lost the connection to the server: reconnecting…")
		}
		if !sleepCtx(w.a.ctx, backoff(attempt)) {
			return w.a.ctx.Err()
		}
	}
}

// stream runs one WatchEvents stream until it breaks, and reports whether
// the server answered on it.
func (w *eventWatch) stream() (answered bool, err error) {
	ctx, cancel := context.WithCancel(w.a.ctx)
	defer cancel() // or gRPC would hold the stream open
	req := proto.CloneOf(w.req)
	req.StartRevision = w.next
	s, err := w.c.Events.WatchEvents(ctx, req)
	if err != nil {
		return false, err
	}
	for {
		resp, err := s.Recv()
		if err != nil {
			return answered, err
		}
		if !answered {
			answered = true
			// The first answer of a stream says where it starts; on a
			// reconnect that is where this watch already is.
			if w.down {
				w.down = false
				fmt.Fprintln(w.a.stderr, "Reconnected: no events were missed.")
			}
			if w.started {
				continue
			}
			w.started = true
		} else if resp.GetRevision() < w.next {
			continue // already printed
		}
		for _, e := range resp.Events {
			if e.GetRevision() != 0 && e.GetRevision() < w.next {
				continue
			}
			if err := w.a.printEvent(e); err != nil {
				return true, printError{err}
			}
		}
		w.next = resp.GetRevision() + 1
	}
}

// resumable says whether err broke a stream in a way a new stream
// repairs: the server went away or restarted, or cut off this reader for
// falling behind.
func resumable(err error) bool {
	switch {
	case errors.Is(err, io.EOF):
		return true
	case status.Code(err) == codes.Unavailable:
		return true
	case status.Code(err) == codes.ResourceExhausted:
		return client.Reason(err) == client.ReasonSlowConsumer
	}
	return false
}

// backoff is the wait before reconnect attempt+1: from 100ms, doubling,
// up to 5s, so that a long outage is still tried every few seconds.
func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < attempt && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// sleepCtx waits for d, or until ctx ends, and reports whether it waited.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (a *app) printEvent(e *pb.Event) error {
	if a.cfg.json {
		raw, err := jsonOpts.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		// One compact object per line, so that a script can read line by line.
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("compact json: %w", err)
		}
		buf.WriteByte('\n')
		_, err = a.stdout.Write(buf.Bytes())
		return err
	}
	parts := []string{fmt.Sprintf("%-6d", e.Revision), fmtTimeSeconds(e.GetTime().AsTime(), a.now()),
		fmt.Sprintf("%-26s", lowerWords(e.Type.String(), "TYPE_"))}
	for _, name := range []string{e.HelpRequest, e.Volunteer, e.Offer} {
		if name != "" {
			parts = append(parts, name)
		}
	}
	switch {
	case e.Type == pb.Event_TYPE_HELP_REQUEST_STATE_CHANGED:
		parts = append(parts, stateWord(e.PreviousState)+" -> "+stateWord(e.State))
	case e.State != pb.HelpRequest_STATE_UNSPECIFIED:
		parts = append(parts, "now "+stateWord(e.State))
	}
	if e.Dispatched {
		parts = append(parts, "(dispatcher)")
	}
	if e.Organisation != "" {
		parts = append(parts, "["+e.Organisation+"]")
	}
	_, err := fmt.Fprintln(a.stdout, strings.Join(parts, "  "))
	return err
}
