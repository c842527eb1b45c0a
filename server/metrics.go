package server

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// Metrics counts what a Server does, for Prometheus: the calls it answers,
// the offers it makes and what becomes of them, dispatch runs, the sweep,
// event streams and backups. It is a prometheus.Collector: register it on
// a registry of the caller's own, and give it to New (WithMetrics).
//
// Every label is a word from a fixed vocabulary (a gRPC method and code, a
// trigger, an outcome), never anything a caller sent or a record holds:
// metrics leave the machine, to systems with no duty of care for the
// people behind the requests, and a label's values are kept for as long
// as the series is.
//
// A nil *Metrics counts nothing, so that the server calls it unguarded;
// with metrics off, NewGRPCServer does not install the call interceptors
// at all.
type Metrics struct {
	calls   *prometheus.CounterVec   // by grpc_service, grpc_method, grpc_code
	seconds *prometheus.HistogramVec // by grpc_service, grpc_method

	offersMade       *prometheus.CounterVec // by via
	offersEnded      *prometheus.CounterVec // by outcome, via
	dispatchRuns     *prometheus.CounterVec // by trigger
	dispatchRequests *prometheus.CounterVec // by result
	dispatchSeconds  prometheus.Histogram
	requestsExpired  *prometheus.CounterVec // by urgency
	pausedUnanswer   prometheus.Counter
	eventStreams     prometheus.Gauge
	backups          *prometheus.CounterVec // by outcome
	lastBackup       prometheus.Gauge
	commitSeconds    prometheus.Histogram
	commitWrites     prometheus.Counter
	commitsFailed    prometheus.Counter

	// Read when scraped, from what the server keeps anyway.
	volunteers *prometheus.Desc
	server     atomic.Pointer[Server] // set by New
}

// How an offer was made (label via).
const (
	viaHand     = "hand"
	viaDispatch = "dispatch"
)

// What started a dispatch run (label trigger).
const (
	triggerRPC      = "rpc"
	triggerInterval = "interval"
	triggerUrgent   = "urgent"
)

// NewMetrics returns Metrics counting from zero, not yet registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "gRPC calls answered, by service, method and status code; calls refused by authentication or the rate limit included.",
		}, []string{"grpc_service", "grpc_method", "grpc_code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "grpc_server_handling_seconds",
			Help: "Time from a call's arrival to its answer, by service and method (for a stream, how long it stayed open).",
			// From a health check (tens of microseconds) to a large
			// dispatch or backup (seconds).
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"grpc_service", "grpc_method"}),
		offersMade: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorstep_offers_made_total",
			Help: "Offers made, by how: by hand (CreateOffer) or by dispatch.",
		}, []string{"via"}),
		offersEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorstep_offers_ended_total",
			Help: "Offers that stopped waiting for an answer, by outcome (accepted, declined, expired: the lease ran out, withdrawn) and by how they were made.",
		}, []string{"outcome", "via"}),
		dispatchRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorstep_dispatch_runs_total",
			Help: "Dispatch runs, by trigger: rpc (MatchingService.Dispatch), interval (--dispatch-every) or urgent (a critical request left open while --dispatch-every is on).",
		}, []string{"trigger"}),
		dispatchRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorstep_dispatch_requests_total",
			Help: "Open requests dispatch runs took up, by result: offered (an offer made) or left_open.",
		}, []string{"result"}),
		dispatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doorstep_dispatch_duration_seconds",
			Help:    "How long a dispatch run took, from the read of the open requests to the last offer written.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		requestsExpired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorstep_sweep_requests_expired_total",
			Help: "Requests the sweep expired because their time passed with nobody assigned, by urgency.",
		}, []string{"urgency"}),
		pausedUnanswer: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doorstep_volunteers_paused_unanswered_total",
			Help: "Volunteers paused because offers to them ran out unanswered several times in a row.",
		}),
		eventStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doorstep_event_streams_open",
			Help: "EventService.WatchEvents streams open now.",
		}),
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doorstep_backups_total",
			Help: "Backups asked for (AdminService.CreateBackup), by outcome: made or failed.",
		}, []string{"outcome"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doorstep_store_commit_duration_seconds",
			Help:    "How long each commit of the data file took to write its pages and sync them to disk: what a slow disk slows.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		commitsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doorstep_store_commits_failed_total",
			Help: "Commits of the data file that failed (a full disk, an I/O error): their writes were refused.",
		}),
		commitWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doorstep_store_writes_committed_total",
			Help: "Writes committed to the data file; several share one commit when they come together.",
		}),
		lastBackup: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doorstep_last_backup_timestamp_seconds",
			Help: "Unix time of the last backup made; after a restart, of the last one on the audit log (when it was put on record); 0 if none.",
		}),
		volunteers: prometheus.NewDesc("doorstep_matching_volunteers",
			"Volunteers in the matching index: those matching can offer work to, paused and held ones included.", nil, nil),
	}
	// Every series of a fixed vocabulary starts at 0, so that a rate over
	// the first increase is not lost and a dashboard shows 0, not nothing.
	for _, via := range []string{viaHand, viaDispatch} {
		m.offersMade.WithLabelValues(via)
		for _, outcome := range []string{"accepted", "declined", "expired", "withdrawn"} {
			m.offersEnded.WithLabelValues(outcome, via)
		}
	}
	for _, t := range []string{triggerRPC, triggerInterval, triggerUrgent} {
		m.dispatchRuns.WithLabelValues(t)
	}
	for _, u := range urgencyWords {
		m.requestsExpired.WithLabelValues(u)
	}
	for _, r := range []string{"offered", "left_open"} {
		m.dispatchRequests.WithLabelValues(r)
	}
	for _, o := range []string{"made", "failed"} {
		m.backups.WithLabelValues(o)
	}
	return m
}

// WithMetrics has the server count what it does in m; nil, the default,
// counts nothing. One Metrics serves one Server.
func WithMetrics(m *Metrics) Option { return func(s *Server) { s.metrics = m } }

// attach binds m to s, whose state the read-time gauges read.
func (m *Metrics) attach(s *Server) error {
	if m == nil {
		return nil
	}
	if !m.server.CompareAndSwap(nil, s) {
		return errors.New("server: new: these metrics already count another server's")
	}
	return nil
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.calls, m.seconds, m.offersMade, m.offersEnded, m.dispatchRuns, m.dispatchRequests,
		m.dispatchSeconds, m.requestsExpired, m.pausedUnanswer, m.eventStreams, m.backups, m.lastBackup, m.commitSeconds, m.commitWrites, m.commitsFailed}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	ch <- m.volunteers
}

// Collect implements prometheus.Collector. The read-time gauges cost what
// the server pays anyway for a call: the index's size under its read lock.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	if s := m.server.Load(); s != nil {
		ch <- prometheus.MustNewConstMetric(m.volunteers, prometheus.GaugeValue, float64(s.engine.Len()))
	}
}

// via says how o was made.
func via(o *pb.Offer) string {
	if o.GetDispatched() {
		return viaDispatch
	}
	return viaHand
}

// offerMade counts an offer made by hand. A repeat of a CreateOffer that
// raced its first attempt into the store is answered with that attempt's
// offer by the store itself, which says so (store.LifecycleResult.Repeat),
// and is not counted again.
func (m *Metrics) offerMade() {
	if m != nil {
		m.offersMade.WithLabelValues(viaHand).Inc()
	}
}

// offerEnded counts o if a lifecycle step just ended it: every step that
// ends an offer returns it as it left it, and one that ends none returns
// none (or, for an offer still waiting, PENDING, which is not counted).
func (m *Metrics) offerEnded(o *pb.Offer) {
	if m == nil || o == nil {
		return
	}
	var outcome string
	switch o.GetState() {
	case pb.Offer_STATE_ACCEPTED:
		outcome = "accepted"
	case pb.Offer_STATE_DECLINED:
		outcome = "declined"
	case pb.Offer_STATE_EXPIRED:
		outcome = "expired"
	case pb.Offer_STATE_WITHDRAWN:
		outcome = "withdrawn"
	default:
		return
	}
	m.offersEnded.WithLabelValues(outcome, via(o)).Inc()
}

// dispatchTally is what a dispatch run did with the open requests.
type dispatchTally struct {
	offered  int32 // offers written, as each batch commits
	leftOpen int32 // at the end of a run that finished
}

// dispatchRun counts a dispatch run that began at start, deferred by the
// run: the offers it made count even if it stopped part-way, as they
// stand.
func (m *Metrics) dispatchRun(trigger string, start time.Time, t *dispatchTally) {
	if m == nil {
		return
	}
	m.dispatchRuns.WithLabelValues(trigger).Inc()
	m.dispatchSeconds.Observe(time.Since(start).Seconds())
	m.offersMade.WithLabelValues(viaDispatch).Add(float64(t.offered))
	m.dispatchRequests.WithLabelValues("offered").Add(float64(t.offered))
	m.dispatchRequests.WithLabelValues("left_open").Add(float64(t.leftOpen))
}

// urgencyWords label requests by urgency: an alert on a critical request
// left to expire unserved is the one an operator most wants, and it must
// not fire for a low one.
var urgencyWords = []string{"unspecified", "low", "normal", "high", "critical"}

// requestSwept counts a request the sweep expired.
func (m *Metrics) requestSwept(hr *pb.HelpRequest) {
	if m == nil {
		return
	}
	u := int(hr.GetUrgency())
	if u < 0 || u >= len(urgencyWords) {
		u = 0 // a value this build does not know: no label of its own
	}
	m.requestsExpired.WithLabelValues(urgencyWords[u]).Inc()
}

// pausedUnanswered counts volunteers paused for leaving offers unanswered.
func (m *Metrics) pausedUnanswered(n int) {
	if m != nil && n > 0 {
		m.pausedUnanswer.Add(float64(n))
	}
}

// streamOpened counts an event stream open; the caller defers
// streamClosed.
func (m *Metrics) streamOpened() {
	if m != nil {
		m.eventStreams.Inc()
	}
}

func (m *Metrics) streamClosed() {
	if m != nil {
		m.eventStreams.Dec()
	}
}

// StoreCommit counts one commit of the store's writer: give it to the
// store with store.WithCommitObserver. It takes no lock and allocates
// nothing, as the writer calls it between commits.
func (m *Metrics) StoreCommit(c store.CommitStats) {
	if m == nil {
		return
	}
	if c.Failed {
		m.commitsFailed.Inc()
		return
	}
	m.commitSeconds.Observe(c.Commit.Seconds())
	m.commitWrites.Add(float64(c.Writes))
}

// backup counts a backup asked for: made at when, or failed.
func (m *Metrics) backup(err error, when time.Time) {
	if m == nil {
		return
	}
	if err != nil {
		m.backups.WithLabelValues("failed").Inc()
		return
	}
	m.backups.WithLabelValues("made").Inc()
	m.lastBackup.Set(float64(when.UnixNano()) / 1e9)
}

// lastBackupFrom starts doorstep_last_backup_timestamp_seconds at the
// last backup st has on its audit log, so that an alert on its age does
// not fire at every restart. A backup is audited only once its copy is
// whole, and one whose audit could not be written is removed, so neither
// a failed backup nor a removed one is found. The log's index by record
// finds it at the cost of one record's read, however long the log.
func (m *Metrics) lastBackupFrom(ctx context.Context, st store.Store, logger *zap.Logger) {
	if m == nil {
		return
	}
	recs, _, err := st.ListAuditRecords(ctx, store.AuditFilter{Resource: auditBackup, Action: auditBackup}, store.Page{Size: 1})
	if err != nil {
		// The server serves without it: it is one gauge, and the next
		// backup sets it.
		logger.Error("last backup's time not read: doorstep_last_backup_timestamp_seconds reads 0 until the next backup", zap.Error(err))
		return
	}
	if len(recs) == 1 {
		m.lastBackup.Set(float64(recs[0].GetTime().AsTime().UnixNano()) / 1e9)
	}
}

// callMetrics is the interceptors' side of Metrics: a method's series,
// looked up by its full name, so that a call pays a map lookup and the
// atomic adds, not the hashing of its labels. NewGRPCServer fills byMethod
// once the services are registered, before the server serves, and it is
// only read from then on.
type callMetrics struct {
	m        *Metrics
	byMethod map[string]*methodMetrics
	other    *methodMetrics // for a method not registered: never, as gRPC refuses those before any interceptor
}

// methodMetrics are one method's series, each made at its first use, so
// that a scrape lists the methods called rather than every one there is.
type methodMetrics struct {
	m               *Metrics
	service, method string
	seconds         atomic.Pointer[observerRef]
	calls           [numCodes]atomic.Pointer[counterRef]
}

type observerRef struct{ prometheus.Observer }

type counterRef struct{ prometheus.Counter }

// numCodes is how many gRPC codes there are (OK to Unauthenticated); a
// handler's made-up code is counted as Unknown, as the caller reads it.
const numCodes = int(codes.Unauthenticated) + 1

func (m *Metrics) newCallMetrics() *callMetrics {
	return &callMetrics{m: m, byMethod: map[string]*methodMetrics{}, other: &methodMetrics{m: m, service: "unknown", method: "unknown"}}
}

// register adds the methods of every service g serves.
func (c *callMetrics) register(services map[string]grpc.ServiceInfo) {
	for svc, info := range services {
		for _, md := range info.Methods {
			c.byMethod["/"+svc+"/"+md.Name] = &methodMetrics{m: c.m, service: svc, method: md.Name}
		}
	}
}

// known is fullMethod's series, or nil for a method not registered or
// with metrics off.
func (c *callMetrics) known(fullMethod string) *methodMetrics {
	if c == nil {
		return nil
	}
	return c.byMethod[fullMethod]
}

func (c *callMetrics) of(fullMethod string) *methodMetrics {
	if mm, ok := c.byMethod[fullMethod]; ok {
		return mm
	}
	return c.other
}

// wrapUnary returns outer with each call counted around it. outer is the
// outermost interceptor (logCalls), so that a call is counted as its
// caller was told: authentication's and the rate limit's refusals, and a
// panic logCalls turned into INTERNAL. Wrapped rather than chained as an
// interceptor of its own, it spares each call the closure gRPC's chain
// makes for every level (an allocation, 64 bytes).
func (c *callMetrics) wrapUnary(outer grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Since(monoEpoch)
		resp, err := outer(ctx, req, info, handler)
		c.of(info.FullMethod).record(start, err)
		return resp, err
	}
}

// wrapStream is wrapUnary for streams.
func (c *callMetrics) wrapStream(outer grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Since(monoEpoch)
		err := outer(srv, ss, info, handler)
		c.of(info.FullMethod).record(start, err)
		return err
	}
}

// monoEpoch is what the interceptors time calls from: time.Since on it
// reads the monotonic clock alone, where time.Now reads the wall clock as
// well. A read is tens of nanoseconds on this project's VM, and two of
// them were two thirds of the interceptor's cost.
var monoEpoch = time.Now()

// record counts a call that began start after monoEpoch.
func (mm *methodMetrics) record(start time.Duration, err error) {
	took := time.Since(monoEpoch) - start
	code := status.Code(err)
	if int(code) >= numCodes {
		code = codes.Unknown
	}
	n := mm.calls[code].Load()
	if n == nil {
		// Two first calls at once may both get here: both find the one
		// child in the vector, so either pointer counts the same series.
		n = &counterRef{mm.m.calls.WithLabelValues(mm.service, mm.method, code.String())}
		mm.calls[code].Store(n)
	}
	n.Inc()
	o := mm.seconds.Load()
	if o == nil {
		o = &observerRef{mm.m.seconds.WithLabelValues(mm.service, mm.method)}
		mm.seconds.Store(o)
	}
	o.Observe(took.Seconds())
}
