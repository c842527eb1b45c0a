package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// Event stream defaults.
const (
	// DefaultEventRetention is how long the event log keeps events: long
	// enough for an app that was offline over a weekend to catch up.
	DefaultEventRetention = 7 * 24 * time.Hour
	// DefaultWatchProgress is how often a stream whose filters hide every
	// change still tells the client how far it has got.
	DefaultWatchProgress = 5 * time.Second
	// DefaultWatchHeartbeat is how long a stream with nothing to tell
	// stays silent: a proxy between app and server (nginx's
	// grpc_read_timeout is 60 s) would take it for idle and cut it, and
	// HTTP/2 pings are answered by the proxy, never passed on.
	DefaultWatchHeartbeat = 30 * time.Second
	// DefaultWatchSlowAfter is how long a stream may wait for its client
	// to take the next response before it is ended.
	DefaultWatchSlowAfter = 30 * time.Second
	// watchPage bounds the events one stream reads and holds at a time, so
	// that a stream costs the server a page of memory however far behind
	// its client is.
	watchPage = 256
)

// Reasons for the event stream's errors.
const (
	ReasonEventsCompacted = "EVENTS_COMPACTED"
	ReasonRevisionAhead   = "REVISION_AHEAD"
	ReasonSlowConsumer    = "SLOW_CONSUMER"
	ReasonShuttingDown    = "SHUTTING_DOWN"
)

// DefaultPersonalDataRetention is how long a closed request keeps its
// requester's contact details, notes and address: long enough to follow up
// on what happened, short enough that closed cases do not pile up.
const DefaultPersonalDataRetention = 30 * 24 * time.Hour

// WithPersonalDataRetention sets how long after a request closes its
// personal data is purged; 0 keeps it until erased.
func WithPersonalDataRetention(d time.Duration) Option {
	return func(s *Server) { s.personalRetention = d }
}

// DefaultAssignmentGrace is how long after an assigned request's time
// ends the sweep marks it FULFILLED when nobody did: volunteers forget, and
// an assignment left open holds a place of their capacity for good (a
// volunteer of capacity 1 is never offered anything again) and keeps the
// caller's data past its retention.
const DefaultAssignmentGrace = 7 * 24 * time.Hour

// WithAssignmentGrace sets how long after an assigned request's time ends
// the sweep marks it FULFILLED; 0 leaves it to people.
func WithAssignmentGrace(d time.Duration) Option {
	return func(s *Server) { s.assignmentGrace = d }
}

// closeEndedAssignments marks FULFILLED the assignments whose time ended
// more than the grace ago; the sweep calls it, at most once per
// purgeEvery, as a walk of every assigned request is not worth a sweep's
// every quarter minute for a grace of days.
func (s *Server) closeEndedAssignments(ctx context.Context) {
	if s.assignmentGrace <= 0 {
		return
	}
	now := s.now()
	if !s.lastClose.IsZero() && now.Sub(s.lastClose) < purgeEvery {
		return
	}
	s.lastClose = now
	// On each request's trail, as a person's marking is: who marked it done
	// is asked after the event log has let it go, and a trail that ends at
	// the accept would say someone did, unrecorded.
	res, err := s.store.CloseEndedAssignments(s.auditingStep(ctx, "complete"), now.Add(-s.assignmentGrace), purgeLimit)
	if err != nil && ctx.Err() == nil {
		s.logger.Error("close ended assignments", zap.Error(err))
	}
	for _, r := range res {
		s.track(r.Volunteer)
	}
	if len(res) > 0 {
		s.logger.Info("ended assignments marked fulfilled", zap.Int("help_requests", len(res)), zap.Duration("grace", s.assignmentGrace))
	}
}

// purgeEvery is how often the sweep purges. A purge that removes anything
// ends with a key rotation, which rewrites every data key in one write:
// run every sweep, a store where requests close all day would rotate every
// few seconds. Data then outlives its retention by an hour at most.
const purgeEvery = time.Hour

// purgePersonalData removes the personal data of requests closed for
// longer than the retention; the sweep calls it, and it runs at most once
// per purgeEvery. With no retention it purges nothing, but still rotates
// the key epoch when a deletion left that due (store.PurgePersonalData).
func (s *Server) purgePersonalData(ctx context.Context) {
	now := s.now()
	if !s.lastPurge.IsZero() && now.Sub(s.lastPurge) < purgeEvery {
		return
	}
	s.lastPurge = now
	closedBefore := now.Add(-s.personalRetention)
	if s.personalRetention <= 0 {
		closedBefore = time.Time{} // nothing closed before it: keep it all
	}
	// One call for the whole backlog: more than a few thousand requests
	// can close in an hour (a busy day, or a retention first set over an
	// old file), and data must not outlive its retention by more than the
	// hour. The store writes it in batches, so other writes get their
	// turn, and rotates the keys once at the end: a rotation rewrites
	// every data key in one write, so one per batch would hold up every
	// other writer for as long again each time.
	n, err := s.store.PurgePersonalData(store.WithAudit(ctx, s.auditRecord(ctx, "purge", "", requestPersonal)), closedBefore, purgeLimit)
	if err != nil && ctx.Err() == nil {
		s.logger.Error("purge personal data", zap.Error(err))
	}
	if n > 0 {
		s.logger.Info("personal data purged", zap.Int("help_requests", n))
	}
}

// purgeLimit bounds one purge: far beyond what closes in an hour, so that
// a backlog is gone in one run, while the list of ids the store gathers
// for it stays a few megabytes.
const purgeLimit = 200_000

// WithEventRetention sets how long events are kept before the sweep
// compacts them; 0 keeps them for ever.
func WithEventRetention(d time.Duration) Option { return func(s *Server) { s.eventRetention = d } }

// WithWatchTimings sets how often a filtered stream reports progress and
// how long a stream waits on a client that has stopped reading.
func WithWatchTimings(progress, slowAfter time.Duration) Option {
	return func(s *Server) { s.watchProgress, s.watchSlowAfter = progress, slowAfter }
}

// WithWatchHeartbeat sets how long, at most, an event stream with nothing
// to tell stays silent: it sends a response without events at the last
// look (WithWatchTimings' progress) before that.
func WithWatchHeartbeat(d time.Duration) Option {
	return func(s *Server) { s.watchHeartbeat = d }
}

// Drain ends every event stream, now and from now on, with UNAVAILABLE and
// the revision to resume from, and every health watch (drainingHealth), so
// that a graceful stop need not wait for streams that would otherwise
// never end.
func (s *Server) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// eventFilter is what a stream asked to see.
type eventFilter struct {
	types     map[pb.Event_Type]bool
	org       string
	ownOnly   bool   // org's own records' events only, not its volunteers' offers elsewhere (a partner's token)
	volunteer string // for a volunteer's token: only events naming them
}

func (f eventFilter) keep(evs []*pb.Event) []*pb.Event {
	var out []*pb.Event
	for _, e := range evs {
		if (len(f.types) == 0 || f.types[e.Type]) && (f.org == "" || f.org == e.Organisation || !f.ownOnly && f.org == e.VolunteerOrganisation) &&
			(f.volunteer == "" || f.volunteer == e.Volunteer) {
			if f.ownOnly && e.VolunteerOrganisation != "" && e.VolunteerOrganisation != f.org {
				// Which group another organisation's volunteer is in is
				// not a partner's to know.
				e = proto.Clone(e).(*pb.Event)
				e.VolunteerOrganisation = ""
			}
			out = append(out, e)
		}
	}
	return out
}

func checkWatch(req *pb.WatchEventsRequest) (eventFilter, error) {
	var v violations
	if req.GetStartRevision() < 0 {
		v.add("start_revision", "must be 0 (from now) or a revision")
	}
	f := eventFilter{types: map[pb.Event_Type]bool{}}
	for i, t := range req.GetTypes() {
		if v.full() {
			break
		}
		if t == pb.Event_TYPE_UNSPECIFIED || !enumKnown(t) {
			v.add(fmt.Sprintf("types[%d]", i), "is not an event type")
		}
		f.types[t] = true
	}
	if req.GetOrganisation() != "" {
		f.org = checkOrganisation(&v, "organisation", req.GetOrganisation())
	}
	return f, v.err()
}

// WatchEvents implements pb.EventServiceServer. Each stream reads the
// log itself, a page at a time, and waits on the store's bell when it has
// caught up: a stream that falls behind costs a page of memory and a read
// transaction now and then, and never holds up the writers or other
// streams.
func (s *Server) WatchEvents(req *pb.WatchEventsRequest, stream grpc.ServerStreamingServer[pb.WatchEventsResponse]) error {
	ctx := stream.Context()
	filter, err := checkWatch(req)
	if err != nil {
		return err
	}
	switch p := principalFrom(ctx); {
	case p == nil:
	case p.Role == partner:
		if filter.org != "" && filter.org != p.Organisation {
			return statusWith(codes.PermissionDenied, ReasonPermissionDenied, "a partner token watches its own organisation's events only", nil)
		}
		// Another group's request offered to one of the partner's
		// volunteers is that group's business: a partner integrates its
		// own intake, and has no right to read those requests.
		filter.org, filter.ownOnly = p.Organisation, true
	case p.Role == volunteer:
		// A volunteer's app learns of offers made to them, and of their
		// lapsing or withdrawal, as they happen: the events that name them.
		if p.Volunteer == "" {
			return statusWith(codes.PermissionDenied, ReasonPermissionDenied, "this volunteer token names no volunteer", nil)
		}
		filter.volunteer = p.Volunteer
	}
	s.metrics.streamOpened()
	defer s.metrics.streamClosed()
	cur, _ := s.store.Changes()
	pos := uint64(req.GetStartRevision())
	if pos == 0 {
		pos = cur + 1
	}
	oldest, err := s.store.OldestEventRevision()
	if err != nil {
		return s.errs.toStatus(ctx, err, notFound{})
	}
	if pos < oldest {
		return compacted(oldest, cur)
	}
	if pos > cur+1 && !s.reached(ctx, pos-1) {
		// Every revision a client was told had been reached: a resume
		// point past the log means the data was restored from an older
		// copy, and the revisions from here on will be reused for other
		// changes. Waiting for them would hand the app those changes'
		// successors only, and its view would never be right again.
		return statusWith(codes.OutOfRange, ReasonRevisionAhead,
			"start_revision "+strconv.FormatUint(pos, 10)+" is past this server's log, which is at revision "+strconv.FormatUint(cur, 10)+
				": its data was restored from an older copy; reload with List calls, then watch from "+strconv.FormatUint(cur+1, 10)+" (current_revision + 1)",
			map[string]string{"oldest_revision": strconv.FormatUint(oldest, 10), "current_revision": strconv.FormatUint(cur, 10)})
	}

	out := newSender(stream, pos-1)
	defer out.close()
	slow := time.NewTimer(s.watchSlowAfter)
	defer slow.Stop()
	progress := time.NewTicker(s.watchProgress)
	defer progress.Stop()

	// sent is the revision the client has been told it is through, at
	// sentAt.
	sent, sentAt := pos-1, time.Now()
	send := func(evs []*pb.Event, through uint64) error {
		if err := s.stillValid(ctx); err != nil {
			return err
		}
		slow.Reset(s.watchSlowAfter)
		select {
		case out.ch <- &pb.WatchEventsResponse{Events: evs, Revision: int64(through)}:
			sent, sentAt = through, time.Now()
			return nil
		case err := <-out.failed:
			return err
		case <-slow.C:
			s.logger.Info("event stream ended: slow consumer", append(principalFrom(ctx).logFields(), zap.Uint64("resume_revision", out.delivered()+1))...)
			return statusWith(codes.ResourceExhausted, ReasonSlowConsumer,
				"the client stopped reading events; reconnect with start_revision = resume_revision",
				map[string]string{"resume_revision": strconv.FormatUint(out.delivered()+1, 10)})
		case <-s.draining:
			out.settle(drainSettle)
			return shuttingDown(out.delivered() + 1)
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	if err := send(nil, sent); err != nil {
		return err
	}
	var through uint64 // how far this stream has read, told or not
	for {
		_, bell := s.store.Changes()
		page, err := s.store.ReadEvents(ctx, pos, watchPage)
		var ce *store.CompactedError
		if errors.As(err, &ce) {
			cur, _ := s.store.Changes()
			return compacted(ce.Oldest, cur) // the client fell behind the horizon
		}
		if err != nil {
			return s.errs.toStatus(ctx, err, notFound{})
		}
		through = page.Through
		if evs := filter.keep(page.Events); len(evs) > 0 {
			if err := send(evs, through); err != nil {
				return err
			}
		}
		pos = through + 1
		if page.More {
			continue
		}
		for waiting := true; waiting; {
			select {
			case <-bell:
				waiting = false
			case <-progress.C:
				if through > sent || heartbeatDue(time.Since(sentAt), s.watchProgress, s.watchHeartbeat) {
					if err := send(nil, through); err != nil {
						return err
					}
				} else if err := s.stillValid(ctx); err != nil {
					// A quiet stream ends too, not only at its next event.
					return err
				}
			case err := <-out.failed:
				return err
			case <-s.draining:
				out.settle(drainSettle)
				return shuttingDown(out.delivered() + 1)
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
	}
}

// heartbeatDue says whether a stream silent for silent, looked at every
// progress, must be sent a heartbeat now to hear from the server at least
// every heartbeat: at the next look it would be silent for longer.
func heartbeatDue(silent, progress, heartbeat time.Duration) bool {
	return silent+progress > heartbeat
}

// reached says whether revision rev has committed. The store rings its
// bell just after a commit, which readers (another stream, a Get
// answering with the etag) may see first: an app told of rev may resume
// from rev+1 before Changes says rev.
func (s *Server) reached(ctx context.Context, rev uint64) bool {
	page, err := s.store.ReadEvents(ctx, rev, 1)
	return err == nil && page.Through >= rev
}

// compacted tells a client its events are gone, and to reload and watch
// from one past the current revision, cur: the log's start moves on at
// every sweep, so oldest may be gone too by the time a reload of a busy
// group's lists is done, while the changes after cur are kept for the
// retention. Every revision before oldest has committed, even one the
// bell has yet to ring for.
func compacted(oldest, cur uint64) error {
	if oldest > 0 {
		cur = max(cur, oldest-1)
	}
	return statusWith(codes.OutOfRange, ReasonEventsCompacted,
		"events before revision "+strconv.FormatUint(oldest, 10)+" have been compacted; reload with List calls, then watch from "+
			strconv.FormatUint(cur+1, 10)+" (current_revision + 1)",
		map[string]string{"oldest_revision": strconv.FormatUint(oldest, 10), "current_revision": strconv.FormatUint(cur, 10)})
}

// drainSettle bounds how long a stream ending at shutdown waits for the
// response it is sending, to name the right resume point.
const drainSettle = 250 * time.Millisecond

func shuttingDown(resume uint64) error {
	return statusWith(codes.Unavailable, ReasonShuttingDown, "the server is shutting down; reconnect with start_revision = resume_revision",
		map[string]string{"resume_revision": strconv.FormatUint(resume, 10)})
}

// sender sends a stream's responses from a goroutine of its own, so that
// the handler can give up on a client that stopped reading: stream.Send
// blocks on flow control and takes no context. The handler's return
// cancels the stream, which unblocks a Send still waiting.
type sender struct {
	ch     chan *pb.WatchEventsResponse
	failed chan error
	done   chan struct{}
	last   atomic.Uint64 // the revision of the last response Send finished
	// idle is held by whoever may decide what the client has got: the
	// goroutine for each Send, or, for good, a handler ending the stream
	// (settle), so that the resume point it names is what was sent.
	idle chan struct{}
}

// newSender starts a sender for a stream that starts after revision
// before: a stream ended before it delivered anything tells its client to
// resume where it asked to start, not from revision 1.
func newSender(stream grpc.ServerStreamingServer[pb.WatchEventsResponse], before uint64) *sender {
	s := &sender{ch: make(chan *pb.WatchEventsResponse), failed: make(chan error, 1), done: make(chan struct{}), idle: make(chan struct{}, 1)}
	s.last.Store(before)
	s.idle <- struct{}{}
	go func() {
		for {
			select {
			case r := <-s.ch:
				select {
				case <-s.idle:
				case <-s.done:
					return // the stream ended before this one went
				}
				if err := stream.Send(r); err != nil {
					s.failed <- err
					return
				}
				s.last.Store(uint64(r.Revision))
				s.idle <- struct{}{}
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// delivered is the revision of the last response handed to gRPC.
func (s *sender) delivered() uint64 { return s.last.Load() }

// settle waits, up to d, for a Send under way to finish, and lets no
// other start: a stream ending as the server shuts down then names the
// revision after the last it sent, neither one sent as it ended (which
// the client would get twice) nor one never sent. A Send still held up
// by flow control after d is cancelled with the stream, and not counted.
func (s *sender) settle(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.idle:
	case <-t.C:
	}
}

func (s *sender) close() { close(s.done) }

// compactEvents drops events older than the retention; the sweep calls it.
func (s *Server) compactEvents(ctx context.Context) {
	if s.eventRetention <= 0 {
		return
	}
	n, err := s.store.CompactEvents(ctx, s.now().Add(-s.eventRetention))
	if err != nil && ctx.Err() == nil {
		s.logger.Error("compact events", zap.Error(err))
	}
	if n > 0 {
		s.logger.Info("events compacted", zap.Int("events", n))
	}
}
