package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Server reasons that Watch acts on: the first three are the event
// stream's own (see events.proto); the last two, limits any call may meet
// (README's Errors table), which a watch under way waits out as it
// reconnects.
const (
	ReasonEventsCompacted = "EVENTS_COMPACTED"
	ReasonRevisionAhead   = "REVISION_AHEAD"
	ReasonSlowConsumer    = "SLOW_CONSUMER"
	ReasonRateLimited     = "RATE_LIMITED"
	ReasonTooManyStreams  = "TOO_MANY_STREAMS"
)

// DefaultWatchGiveUp is how long Watch keeps trying to reconnect, when
// WatchOptions.GiveUpAfter is 0: long enough for a server restart.
const DefaultWatchGiveUp = 2 * time.Minute

// WatchOptions says which events Watch sends and from where.
type WatchOptions struct {
	// StartRevision is the first revision wanted: one past the revision of
	// the last response handled before, to carry on where a previous watch
	// stopped. 0 starts from now.
	StartRevision int64
	// Types keeps only events of these types; empty keeps all.
	Types []pb.Event_Type
	// Organisation keeps only events of this organisation; empty keeps all.
	Organisation string
	// GiveUpAfter is how long Watch goes on trying to reconnect without
	// getting through before it returns the error: 0 means
	// DefaultWatchGiveUp, a negative value means until ctx ends.
	GiveUpAfter time.Duration
	// MustConnect makes Watch return at once, with the error, if its
	// first stream fails before the server answers: a wrong address or a
	// server that is down should not look like a quiet afternoon. A first
	// stream turned away for the token's call rate is still waited out:
	// the server is there. Later breaks are repaired as ever.
	MustConnect bool
	// OnConnection, if set, is told when a stream that had answered breaks
	// and Watch sets about reconnecting (the error), and when a new stream
	// answers again (nil), so that an app can say so. It runs on Watch's
	// goroutine.
	OnConnection func(err error)
}

// CompactedError says that the events from the revision asked for cannot
// be sent: they are no longer kept, or (Ahead) the server's log has not
// got that far, its data having been restored from an older copy, so the
// revisions the app saw will be reused for other changes. Either way,
// reload the view with List calls, then watch again from From().
// status.Code of it is OUT_OF_RANGE.
type CompactedError struct {
	// Requested is the start revision that was asked for.
	Requested int64
	// Oldest is the first revision the server still holds (0 if the
	// server did not say). It moves on at every sweep of the server.
	Oldest int64
	// Current is the server's revision when it answered (0 too if the
	// server did not say): a view reloaded after it holds every change up
	// to it.
	Current int64
	// current says that the server gave Current (revision 0 is a
	// revision too).
	current bool
	// Ahead says that Requested is past the server's log (reason
	// REVISION_AHEAD), not before it.
	Ahead bool
	err   error
}

func (e *CompactedError) Error() string {
	if e.Ahead {
		return fmt.Sprintf("client: watch: revision %d is past the server's log (restored from an older copy?): reload, then watch from %d", e.Requested, e.From())
	}
	return fmt.Sprintf("client: watch: events from revision %d are no longer kept (the log starts at %d): reload, then watch from %d", e.Requested, e.Oldest, e.From())
}

// From is the StartRevision to watch from once the view has been
// reloaded: one past Current. Not Oldest: the server compacts its log at
// every sweep, so by the time a busy group's lists are read again the
// oldest revision may be gone too, and an app that reloads each time it
// is told so never gets back to a live view. Oldest, from a server that
// does not give Current.
func (e *CompactedError) From() int64 {
	if e.current || e.Current > 0 {
		return e.Current + 1
	}
	return e.Oldest
}

// Unwrap returns the server's status error.
func (e *CompactedError) Unwrap() error { return e.err }

// callbackError marks an error that fn returned, so that it is passed back
// as it is and never mistaken for a broken stream.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// Watch sends fn every event that matches opts, in revision order, each
// once, until ctx ends or fn returns an error, and returns that error
// (ctx.Err() for ctx). It reconnects by itself, with backoff, when the
// stream breaks (the server restarting, a dropped connection, a proxy
// cutting a stream it took for idle, or the server cutting off a reader
// that fell behind), resuming one past the last response fn was given,
// so a reconnect neither loses nor repeats events.
//
// fn gets whole responses. The first carries no events and says where the
// watch starts (its Revision is the last revision before it). Later ones
// may also carry no events when filters hide changes: their Revision still
// moves on. To resume after Watch returns, keep the Revision of the last
// response fn handled without error and pass that plus one as
// StartRevision. fn runs on Watch's goroutine; a slow fn holds up the
// stream and may get it cut off, which Watch then repairs.
//
// When the events asked for have been compacted away, Watch returns a
// *CompactedError. It does not retry OUT_OF_RANGE or any error other than
// those of a broken stream (a proxy's cut of one that ran included: an
// INTERNAL without the server's details), of a stream turned away for the
// token's call rate (RESOURCE_EXHAUSTED, RATE_LIMITED: the first stream
// too), and of a reconnect turned away for the token's open streams
// (TOO_MANY_STREAMS). Reconnects do not count against WithRetry's
// attempts: they go on for opts.GiveUpAfter without a stream that answers,
// with WithRetry's base delay. A stream that ends in such an INTERNAL
// before it answers, or within seconds after, nothing new delivered, is
// taken for a fault rather than a proxy's cut: it does not count as
// answering, and five in a row end the watch with the error.
func (c *Client) Watch(ctx context.Context, opts WatchOptions, fn func(*pb.WatchEventsResponse) error) error {
	if fn == nil {
		return errors.New("client: watch: fn is required")
	}
	if opts.StartRevision < 0 {
		return fmt.Errorf("client: watch: start revision %d is negative", opts.StartRevision)
	}
	giveUp := opts.GiveUpAfter
	if giveUp == 0 {
		giveUp = DefaultWatchGiveUp
	}
	w := watcher{c: c, opts: opts, fn: fn, next: opts.StartRevision}
	outageSince := time.Now()
	faults := 0 // streams ended running in a row as a fault ends them
	for attempt := 0; ; attempt++ {
		progressed, err := w.stream(ctx)
		if w.faulted {
			faults++
		} else {
			faults = 0
		}
		var cb callbackError
		switch {
		case errors.As(err, &cb):
			return cb.err
		case ctx.Err() != nil:
			return ctx.Err()
		case status.Code(err) == codes.OutOfRange:
			return w.compacted(err)
		case faults == maxFaults:
			return fmt.Errorf("client: watch from revision %d: %w", w.next, err)
		case rateLimited(err):
			// The stream never ran, first or not: waited out as every
			// unary call is. An app that reloaded its view with List calls
			// before watching has spent its rate, which is no mistake of
			// its own, and the server that said so is there (MustConnect).
		case !resumable(err) && !(w.started && (throttled(err) || cutOnTheWay(err))), opts.MustConnect && !w.started:
			return fmt.Errorf("client: watch from revision %d: %w", w.next, err)
		}
		if w.started && !w.down && opts.OnConnection != nil {
			w.down = true
			opts.OnConnection(err)
		}
		if progressed {
			attempt, outageSince = 0, time.Now()
		}
		if giveUp > 0 && time.Since(outageSince) >= giveUp {
			return fmt.Errorf("client: watch: no connection for %v, giving up: %w", giveUp, streamErr(err))
		}
		if !sleep(ctx, c.opts.delay(attempt)) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("client: watch: deadline before the next reconnect: %w", streamErr(err))
		}
	}
}

// watcher is the state of one Watch across its streams.
type watcher struct {
	c    *Client
	opts WatchOptions
	fn   func(*pb.WatchEventsResponse) error
	// next is the start_revision to ask for: one past the last response
	// given to fn, or what the caller asked for until then.
	next int64
	// started says whether fn has had a stream's first response; the first
	// response of every later stream only repeats where fn already is.
	started bool
	// down says that OnConnection was told of a break, and is owed word of
	// the next stream that answers.
	down bool
	// faulted says that the last stream ended in a bare INTERNAL before it
	// answered, or at once after, with nothing new delivered (see
	// proxyCutAfter).
	faulted bool
}

// stream runs one WatchEvents stream until it ends. It reports whether
// the stream got as far as its first response, which shows that the
// server is reachable again; unless it then ended at once in a bare
// INTERNAL with nothing new delivered (see proxyCutAfter).
func (w *watcher) stream(ctx context.Context) (progressed bool, err error) {
	// The stream must end with this call, or gRPC would hold it open.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := w.next
	w.faulted = false
	s, err := w.c.Events.WatchEvents(ctx, &pb.WatchEventsRequest{StartRevision: w.next, Types: w.opts.Types, Organisation: w.opts.Organisation})
	if err != nil {
		return false, err
	}
	first := true
	var answered time.Time
	for {
		resp, err := s.Recv()
		if err != nil {
			if cutOnTheWay(err) && w.next == from && (!progressed || time.Since(answered) < proxyCutAfter) {
				progressed, w.faulted = false, true
			}
			return progressed, err
		}
		progressed = true
		if first {
			first = false
			answered = time.Now()
			if w.down {
				w.down = false
				w.opts.OnConnection(nil)
			}
			if w.started {
				continue
			}
			w.started = true
		} else if !w.unseen(resp) {
			continue
		}
		if err := w.fn(resp); err != nil {
			return true, callbackError{err}
		}
		w.next = resp.GetRevision() + 1
	}
}

// unseen drops events fn already had, which a server replaying a revision
// after a reconnect would otherwise deliver twice, and reports whether
// anything new is left. The contract says this never happens; the check
// makes "each event once" hold even if it does.
func (w *watcher) unseen(resp *pb.WatchEventsResponse) bool {
	if resp.GetRevision() < w.next {
		return false
	}
	events := resp.Events[:0]
	for _, ev := range resp.Events {
		if ev.GetRevision() >= w.next {
			events = append(events, ev)
		}
	}
	resp.Events = events
	return true
}

func (w *watcher) compacted(err error) error {
	ce := &CompactedError{Requested: w.next, err: err}
	if info := errorInfo(err); info != nil {
		ce.Oldest, _ = strconv.ParseInt(info.GetMetadata()["oldest_revision"], 10, 64)
		if cur, err := strconv.ParseInt(info.GetMetadata()["current_revision"], 10, 64); err == nil {
			ce.Current, ce.current = cur, true
		}
		ce.Ahead = info.GetReason() == ReasonRevisionAhead
	}
	return ce
}

// resumable says whether err broke the stream in a way a new stream
// repairs: the server went away (UNAVAILABLE, or a clean end, which a
// stream that runs until cancelled only has when the server stops), or it
// cut off this reader for falling behind.
func resumable(err error) bool {
	switch {
	case errors.Is(err, io.EOF):
		return true
	case status.Code(err) == codes.Unavailable:
		return true
	case status.Code(err) == codes.ResourceExhausted:
		return errorInfo(err).GetReason() == ReasonSlowConsumer
	}
	return false
}

// cutOnTheWay says whether err is a stream that ran, cut by a proxy
// between (nginx, HAProxy) that took it for idle: reset (RST_STREAM
// INTERNAL_ERROR) or closed without trailers, which gRPC says as INTERNAL
// in its own words. The server's own INTERNALs carry an ErrorInfo with
// their incident, and end the watch; a bare one may also be a fault (a
// send the server could not make, or details a proxy dropped), which
// stream and maxFaults tell from a cut.
func cutOnTheWay(err error) bool {
	return status.Code(err) == codes.Internal && errorInfo(err) == nil
}

// proxyCutAfter is how long a stream runs, once answered, before a bare
// INTERNAL that ends it with nothing new delivered counts as a proxy's
// cut of an idle stream, after which the server was reached and the
// backoff starts again. A proxy waits out its idle timeout (tens of
// seconds; under 5 s it would cut ordinary calls too); a fault that comes
// again (the server's INTERNAL through a proxy that drops its details, an
// event the client cannot decode) ends each stream at once, and
// counted as reaching the server it was asked again every 100 ms for
// ever. Not counted, it is asked again with growing waits, and ends the
// watch the maxFaults'th time running.
const proxyCutAfter = maxBackoff

// maxFaults is how many streams running may end as a fault does (see
// proxyCutAfter; or before they answer, which no proxy's idle cut does,
// the server's first response coming at once) before Watch ends with the
// error, whatever GiveUpAfter allows: one that repeats leaves the watch
// stuck short of the same event, an app saying for ever that it lost and
// regained the connection. One may be a hiccup; five in a row, with
// growing waits between, are not.
const maxFaults = 5

// throttled says whether err is the server turning a stream away for the
// moment: its token over its call rate (an app reloading its view as it
// reconnects), or over its open streams (the server has yet to notice
// that the broken one is gone). A watch that has run waits that out as it
// waits out a server that is down; a first stream refused for its streams
// is the caller's mistake to hear of at once (one refused for the rate is
// waited out even so: see Watch).
func throttled(err error) bool {
	if status.Code(err) != codes.ResourceExhausted {
		return false
	}
	switch errorInfo(err).GetReason() {
	case ReasonRateLimited, ReasonTooManyStreams:
		return true
	}
	return false
}

// streamErr names a clean end, which io.EOF would describe poorly.
func streamErr(err error) error {
	if errors.Is(err, io.EOF) {
		return status.Error(codes.Unavailable, "the server ended the event stream")
	}
	return err
}

// errorInfo returns the ErrorInfo detail of a status error, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	st, ok := statusOf(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// statusOf finds the gRPC status in err's chain. Unlike status.FromError,
// it keeps the server's own message when err has been wrapped.
func statusOf(err error) (*status.Status, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return nil, false
	}
	st := se.GRPCStatus()
	return st, st != nil
}
