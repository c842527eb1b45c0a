package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/doorstep-aid/doorstep/geo"
	"github.com/doorstep-aid/doorstep/matcher"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// Server implements every doorstep.v1 service over a Store.
type Server struct {
	pb.UnimplementedHelpRequestServiceServer
	pb.UnimplementedVolunteerServiceServer
	pb.UnimplementedGazetteerServiceServer
	pb.UnimplementedMatchingServiceServer
	pb.UnimplementedEventServiceServer
	pb.UnimplementedAdminServiceServer

	store  store.Store
	logger *zap.Logger
	errs   errMapper
	now    func() time.Time

	engine               *matcher.Engine
	deleted              deleted // matching.go
	matcherConfig        matcher.Config
	lease                time.Duration
	candidatesPerRequest int
	dispatchSlot         chan struct{} // held by the dispatch run under way
	urgent               chan struct{} // a critical request is open: dispatch now (Maintain)

	eventRetention    time.Duration
	personalRetention time.Duration
	sweepMu           sync.Mutex // one Sweep at a time; guards lastPurge and lastClose
	lastPurge         time.Time  // when the sweep last purged
	lastClose         time.Time  // when the sweep last closed ended assignments
	assignmentGrace   time.Duration
	watchProgress     time.Duration
	watchSlowAfter    time.Duration
	watchHeartbeat    time.Duration
	draining          chan struct{} // closed by Drain
	drainOnce         sync.Once

	limiter    *limiter
	streams    held[string]     // event streams, by token
	maxStreams int              // of them a token may hold
	openCalls  held[*peer.Peer] // refuseEarly's, of calls that need no token
	unread     held[string]     // refuseEarly's, of calls with a token not yet read
	backupDir  string           // "": CreateBackup is refused

	metrics *Metrics // nil: nothing counted
}

// Option configures New.
type Option func(*Server)

// WithClock sets the clock used to check that windows lie ahead.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithMatcherConfig sets the matching rules and weights.
func WithMatcherConfig(c matcher.Config) Option { return func(s *Server) { s.matcherConfig = c } }

// WithLease sets how long an offer is held for a volunteer by default.
func WithLease(d time.Duration) Option { return func(s *Server) { s.lease = d } }

// WithCandidatesPerRequest sets how many eligible volunteers each request
// brings to a dispatch run (DefaultCandidatesPerRequest, at most
// MaxCandidatesPerRequest): more can cover more requests when volunteers
// are scarce, at the cost of a longer run.
func WithCandidatesPerRequest(n int) Option { return func(s *Server) { s.candidatesPerRequest = n } }

// Bounds of WithCandidatesPerRequest.
const (
	DefaultCandidatesPerRequest = matcher.DefaultCandidatesPerRequest
	MaxCandidatesPerRequest     = 100
)

// Abuse limits.
const (
	// DefaultRate and DefaultBurst bound one token's calls: far above what a
	// person at a keyboard or a paced import makes, low enough that one
	// runaway script cannot take the service from everyone else.
	DefaultRate  = 100
	DefaultBurst = 200
	// DefaultMaxStreams bounds one token's open event streams.
	DefaultMaxStreams = 8
)

// WithRateLimit sets each token's sustained calls per second and burst; a
// rate of 0 turns the limit off.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(s *Server) { s.limiter = newLimiter(perSecond, burst) }
}

// WithBackupDir sets the directory CreateBackup writes backups under, on
// the server's machine; without it CreateBackup is refused. An admin call
// chooses no path: the operator does, at the start.
func WithBackupDir(dir string) Option { return func(s *Server) { s.backupDir = dir } }

// WithMaxStreams sets how many event streams one token may hold open.
func WithMaxStreams(n int) Option { return func(s *Server) { s.maxStreams = n } }

// New returns a Server over st. Both st and logger are required.
func New(st store.Store, logger *zap.Logger, opts ...Option) (*Server, error) {
	if st == nil {
		return nil, errors.New("server: new: store is required")
	}
	if logger == nil {
		return nil, errors.New("server: new: logger is required")
	}
	s := &Server{store: st, logger: logger, errs: errMapper{logger: logger}, now: time.Now,
		matcherConfig: matcher.DefaultConfig(), lease: DefaultLease, candidatesPerRequest: matcher.DefaultCandidatesPerRequest,
		eventRetention: DefaultEventRetention, personalRetention: DefaultPersonalDataRetention, assignmentGrace: DefaultAssignmentGrace, watchProgress: DefaultWatchProgress, watchSlowAfter: DefaultWatchSlowAfter, watchHeartbeat: DefaultWatchHeartbeat,
		draining: make(chan struct{}), dispatchSlot: make(chan struct{}, 1), urgent: make(chan struct{}, 1), limiter: newLimiter(DefaultRate, DefaultBurst),
		maxStreams: DefaultMaxStreams}
	for _, o := range opts {
		o(s)
	}
	if s.now == nil {
		return nil, errors.New("server: new: clock is required")
	}
	if s.assignmentGrace < 0 {
		return nil, errors.New("server: new: assignment grace must not be negative")
	}
	if s.eventRetention < 0 || s.watchProgress <= 0 || s.watchSlowAfter <= 0 || s.watchHeartbeat <= 0 {
		return nil, errors.New("server: new: event retention must not be negative, watch timings must be positive")
	}
	if s.candidatesPerRequest < 1 || s.candidatesPerRequest > MaxCandidatesPerRequest {
		return nil, fmt.Errorf("server: new: %d candidates per request is not from 1 to %d", s.candidatesPerRequest, MaxCandidatesPerRequest)
	}
	if s.lease < MinLease || s.lease > MaxLease {
		return nil, fmt.Errorf("server: new: lease %v is not from %v to %v", s.lease, MinLease, MaxLease)
	}
	s.engine = matcher.NewEngine(s.matcherConfig)
	start := time.Now()
	if err := s.buildIndex(context.Background()); err != nil {
		return nil, err
	}
	logger.Info("matching index built", zap.Int("volunteers", s.engine.Len()), zap.Duration("took", time.Since(start)))
	if err := s.metrics.attach(s); err != nil {
		return nil, err
	}
	s.metrics.lastBackupFrom(context.Background(), st, logger)
	return s, nil
}

// Register adds every doorstep.v1 service to g.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	pb.RegisterHelpRequestServiceServer(g, s)
	pb.RegisterVolunteerServiceServer(g, s)
	pb.RegisterGazetteerServiceServer(g, s)
	pb.RegisterMatchingServiceServer(g, s)
	pb.RegisterEventServiceServer(g, s)
	pb.RegisterAdminServiceServer(g, s)
}

// GRPCConfig bounds what one caller can make the server hold.
type GRPCConfig struct {
	// MaxRecvBytes is the largest request message accepted.
	MaxRecvBytes int
}

// DefaultMaxRecvBytes fits a bulk page of requests with room to spare.
const DefaultMaxRecvBytes = 1 << 20

// MaxHeaderBytes bounds a call's metadata. A call holds its metadata for
// as long as it lasts, and a stream lasts for hours: grpc-go's default
// bound, 16 MiB (to become 8 KiB), let a caller (a health watch needs no
// token) hold far more than the message limit per stream. A token, a user
// agent and what a proxy adds come to a few hundred bytes.
const MaxHeaderBytes = 64 << 10

// StreamWorkers is how many goroutines NewGRPCServer keeps to run calls
// on, each holding a stack grown to the depth of a call: 32 per processor.
// A call that finds every worker busy gets a goroutine of its own, whose
// stack must grow, copied twice or three times, to that depth: with 64
// callers and 16 workers, most calls did, and stack growth took 5.5% of
// the server's CPU; with 64 workers, 0.7%. An idle worker costs its stack,
// a few dozen kilobytes.
func StreamWorkers() uint32 { return uint32(32 * runtime.GOMAXPROCS(0)) }

// NewGRPCServer returns a gRPC server with s registered, the standard health
// service (SERVING) and reflection, logging every call without its content.
// The caller flips health to NOT_SERVING when it starts to shut down; Drain
// then ends health watches, as it ends event streams.
func NewGRPCServer(s *Server, cfg GRPCConfig, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	if cfg.MaxRecvBytes <= 0 {
		cfg.MaxRecvBytes = DefaultMaxRecvBytes
	}
	unary := []grpc.UnaryServerInterceptor{s.logCalls} // then authUnary, utf8Unary (see logCalls)
	stream := []grpc.StreamServerInterceptor{s.logStreams, s.authStream, s.utf8Stream}
	var calls *callMetrics
	if s.metrics != nil {
		// Around the outermost, so that it counts what callers were told,
		// refusals by authentication and the rate limit among them; and
		// only with metrics on, so that a server without them pays nothing
		// per call.
		calls = s.metrics.newCallMetrics()
		unary[0] = calls.wrapUnary(unary[0])
		stream[0] = calls.wrapStream(stream[0])
	}
	opts = append([]grpc.ServerOption{
		grpc.InTapHandle(func(ctx context.Context, info *tap.Info) (context.Context, error) {
			ctx, err := s.refuseEarly(ctx, info.FullMethodName)
			if err != nil {
				// Counted and logged as the interceptors would have: the
				// call never reaches them. A method the server does not
				// have is not counted, as gRPC's own refusal is not.
				start := time.Since(monoEpoch)
				if mm := calls.known(info.FullMethodName); mm != nil {
					mm.record(start, err)
				}
				s.logEnd("call", info.FullMethodName, start, &err)
			}
			return ctx, err
		}),
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes),
		grpc.MaxHeaderListSize(MaxHeaderBytes),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		// Clients may ping no more often than this; a client that does is
		// disconnected instead of keeping the server busy.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 20 * time.Second, PermitWithoutStream: true}),
		// Idle connections are closed, and the server pings to find dead
		// ones, so that abandoned clients do not hold memory for ever.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute, Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.MaxConcurrentStreams(1000),
		// Responses are encoded by generated code rather than reflection;
		// requests are still decoded by protobuf-go, but for strings that
		// are not UTF-8, which utf8Unary and utf8Stream refuse (see
		// pb.ServerCodec).
		grpc.ForceServerCodecV2(pb.ServerCodec()),
		// A call runs on a goroutine of a pool rather than a new one: a new
		// goroutine's stack is too small for a FindCandidates call, and
		// growing it, by copying, cost about 5% of the call's CPU. A
		// stream that stays open (WatchEvents) holds its worker; when all
		// are busy, a call gets a new goroutine as before.
		grpc.NumStreamWorkers(StreamWorkers()),
	}, opts...)
	g := grpc.NewServer(opts...)
	s.Register(g)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(g, drainingHealth{Server: hs, draining: s.draining})
	for _, name := range []string{"", pb.HelpRequestService_ServiceDesc.ServiceName, pb.VolunteerService_ServiceDesc.ServiceName, pb.GazetteerService_ServiceDesc.ServiceName, pb.MatchingService_ServiceDesc.ServiceName, pb.EventService_ServiceDesc.ServiceName, pb.AdminService_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	reflection.Register(g)
	if calls != nil {
		calls.register(g.GetServiceInfo()) // before g serves: read-only from then on
	}
	return g, hs
}

// logStreams is logCalls for streams.
func (s *Server) logStreams(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Since(monoEpoch)
	defer s.logEnd("stream", info.FullMethod, start, &err)
	ctx, _ := tappedCall(ss.Context(), info.FullMethod)
	return handler(srv, &methodStream{ServerStream: ss, ctx: ctx})
}

// logEnd, deferred by an interceptor, turns a panic into INTERNAL and logs
// the call's method, code and duration: at debug level, or error level for
// the codes that mean a bug. A fault already said at error level, with the
// incident id its caller was given (errMapper, or a panic here), is not
// said there again: two lines per failure, sampled apart when many come at
// once, could not be told to be the same one.
func (s *Server) logEnd(what, method string, start time.Duration, err *error) {
	if r := recover(); r != nil {
		id := newIncident()
		s.logger.Error("panic in handler", zap.String("method", method), zap.String("code", codes.Internal.String()), zap.String("incident", id),
			zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		*err = internalStatus(id)
	}
	code := status.Code(*err)
	lvl := zap.DebugLevel
	if code == codes.Internal && incidentOf(*err) == "" || code == codes.Unknown || code == codes.DataLoss {
		lvl = zap.ErrorLevel
	}
	if ce := s.logger.Check(lvl, what); ce != nil {
		ce.Write(zap.String("method", method), zap.String("code", code.String()), zap.Duration("took", time.Since(monoEpoch)-start))
	}
}

// methodStream carries the method name in its context, for error logs.
type methodStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (m *methodStream) Context() context.Context { return m.ctx }

// callInfo is what the interceptors learn of a call, kept in its context
// under callKey: its method, from logCalls or logStreams, and then who is
// calling, once authenticate has checked their token. One value for both:
// a context value apiece (and the method's string boxed for its own) cost
// 2 of a FindCandidates call's allocations more.
type callInfo struct {
	method    string
	principal Principal
	known     bool // principal is set
	// The caller's usable token as the tap (refuseEarly) read it, for
	// authenticate to take rather than hash and look up again.
	tapped     *pb.Token
	tappedHash [32]byte
	// unread stops the tap's count of the call as unread (unreadCalls)
	// ending with the call; true if it had not ended.
	unread func() bool
}

// tappedCall is the callInfo the tap left in ctx for method, or a new one
// in a new context: the tap's saves the second read of the token, and no
// more is allocated than without it.
func tappedCall(ctx context.Context, method string) (context.Context, *callInfo) {
	if ci := callFrom(ctx); ci != nil && ci.method == method && !ci.known {
		return ctx, ci
	}
	return withCall(ctx, callInfo{method: method})
}

type callKey struct{}

// callCtx is a context carrying a callInfo under callKey, as
// context.WithValue would: one allocation for both, where WithValue and
// the callInfo it points at were two, of every call.
type callCtx struct {
	context.Context
	ci callInfo
}

func (c *callCtx) Value(key any) any {
	if key == (callKey{}) {
		return &c.ci
	}
	return c.Context.Value(key)
}

// withCall is ctx carrying ci, and the callInfo it carries.
func withCall(ctx context.Context, ci callInfo) (context.Context, *callInfo) {
	c := &callCtx{Context: ctx, ci: ci}
	return c, &c.ci
}

func callFrom(ctx context.Context) *callInfo {
	ci, _ := ctx.Value(callKey{}).(*callInfo)
	return ci
}

func methodFrom(ctx context.Context) string {
	if ci := callFrom(ctx); ci != nil {
		return ci.method
	}
	return ""
}

// logCalls logs each call's method, code and duration (never its content)
// and turns a panic into INTERNAL so that one bad request cannot take the
// server down. It is every unary call's interceptor, and calls the next,
// authUnary, itself (which calls utf8Unary, which calls handler): chained
// by grpc.ChainUnaryInterceptor, each link past the first cost a closure
// per call, 2 of a FindCandidates call's 122 allocations.
func (s *Server) logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Since(monoEpoch)
	defer s.logEnd("call", info.FullMethod, start, &err)
	ctx, _ = tappedCall(ctx, info.FullMethod)
	resp, err = s.authUnary(ctx, req, info, handler)
	if err != nil {
		resp = nil
	}
	return resp, err
}

// idempotency checks a request_id and fingerprints the request it came
// with, so that a retry can be told from a reuse.
func idempotency(ctx context.Context, v *violations, requestID string, req proto.Message) store.Idempotency {
	if requestID == "" {
		return store.Idempotency{}
	}
	if !uuidRE.MatchString(requestID) {
		v.add("request_id", "must be a UUID such as 4b3e1c2a-5d6f-4a8b-9c0d-1e2f3a4b5c6d")
		return store.Idempotency{}
	}
	// One UUID in either case: a retry whose id came back in capitals
	// (a store that keeps UUIDs so) is the same call, not a second create.
	idem := store.Idempotency{RequestID: strings.ToLower(requestID)}
	if p := principalFrom(ctx); p != nil && p.Role == partner {
		// A partner's ids are its own: another partner's repeat of one
		// must neither be handed this one's record nor lose its own.
		idem.Scope = "org:" + p.Organisation
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		// Marshalling a message that arrived over the wire cannot fail;
		// fall back to the id alone rather than refuse the call.
		return idem
	}
	idem.Fingerprint = sha256.Sum256(raw)
	return idem
}

// maxCoordinateOffset is how far given coordinates may lie from the centre
// of their postcode: generous for large rural postcode units, tight enough
// to catch a swapped latitude and longitude or a wrong postcode.
const maxCoordinateOffset = 10000.0

// resolveLocation fills in or checks a location's coordinates against the
// gazetteer. given says whether the caller supplied lat_lng; prev is the
// location as stored, for an update (nil for a create).
func (s *Server) resolveLocation(ctx context.Context, v *violations, field string, loc *pb.Location, given bool, prev *pb.Location) error {
	at, err := s.store.LookupPostcode(ctx, loc.Postcode)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if ll := loc.LatLng; given && ll != nil && geo.NullIsland(ll.Latitude, ll.Longitude) && proto.Equal(ll, prev.GetLatLng()) {
		// 0, 0 as an older version stored it, sent back as read (an edit
		// of the street alone, a form saved whole): not the caller's, and
		// refused it would leave the record unmendable but by a move to
		// another postcode. Missing, as it is: the postcode's centre.
		given = false
	}
	if !given {
		loc.LatLng = nil
	}
	switch {
	case loc.LatLng == nil && !known && prev.GetPostcode() == loc.Postcode && prev.GetLatLng() != nil &&
		prev.GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID &&
		!geo.NullIsland(prev.GetLatLng().GetLatitude(), prev.GetLatLng().GetLongitude()):
		// A gazetteer reload has terminated the postcode since the record
		// took its centre. The record keeps that centre, so that an edit of
		// the street or the house is not refused over a postcode the caller
		// did not change. Not a centre of 0, 0, which an older directory
		// gave a postcode it had no grid reference for (store.LookupPostcode
		// now reads it as not known): kept, it would leave the record out
		// of matching unseen.
		loc.LatLng = proto.Clone(prev.LatLng).(*pb.LatLng)
		loc.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID
	case loc.LatLng == nil && !known:
		v.addReason(field+".postcode", ReasonUnknownPostcode,
			fmt.Sprintf("postcode %s is not in the gazetteer: give lat_lng as well, or check the postcode", loc.Postcode))
	case loc.LatLng == nil:
		loc.LatLng = &pb.LatLng{Latitude: at.Lat, Longitude: at.Lng}
		loc.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID
	default:
		if ll := loc.LatLng; ll.Latitude == 0 && ll.Longitude == 0 {
			// What missing coordinates read as in an imported sheet: in the
			// sea off Africa, every record given it would be matched with
			// every other as neighbours 0 m apart.
			v.add(field+".lat_lng", "are 0, 0, which is what missing coordinates read as: give the address's coordinates, or leave them out to take the postcode's centre")
		} else if known {
			if d := geo.DistanceMetres(at.Lat, at.Lng, loc.LatLng.Latitude, loc.LatLng.Longitude); d > maxCoordinateOffset {
				v.add(field+".lat_lng", fmt.Sprintf("are %.1f km from the centre of postcode %s; check the postcode and the coordinates", d/1000, loc.Postcode))
			}
		}
		loc.CoordinatesSource = pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	}
	return nil
}

// latLngGiven says whether an updated location's coordinates came from the
// caller: named in the mask, or given before and not replaced.
func latLngGiven(paths []string, field string, merged, stored *pb.Location) bool {
	switch {
	case touches(paths, field+".lat_lng") && !(stored.GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_POSTCODE_CENTROID &&
		proto.Equal(merged.GetLatLng(), stored.GetLatLng())):
		return merged.GetLatLng() != nil
	case touches(paths, field+".lat_lng"):
		return false // the centre read back: the new postcode's centre
	case merged.GetPostcode() != stored.GetPostcode():
		return false // a new postcode without new coordinates takes its centre
	default:
		return stored.GetCoordinatesSource() == pb.CoordinatesSource_COORDINATES_SOURCE_GIVEN
	}
}

// parseName checks a resource name and returns its id.
func parseName(v *violations, field, name, prefix string) string {
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		v.add(field, fmt.Sprintf("must be %s{id}", prefix))
		return ""
	}
	id := name[len(prefix):]
	if !store.ValidID(id) {
		v.add(field, fmt.Sprintf("must be %s{id} where id is 26 letters and digits", prefix))
		return ""
	}
	// Ids are taken in either case but named in lower case, as records
	// name themselves: the audit records of a change, and every check of
	// a name against a token's, must not depend on how it was typed.
	return strings.ToLower(id)
}

// pageSize applies AIP-158: 0 means the default, above the maximum is
// lowered to it, negative is an error.
func pageSize(v *violations, n int32) int {
	const def, max = 50, 1000
	switch {
	case n < 0:
		v.add("page_size", "must not be negative")
		return def
	case n == 0:
		return def
	case n > max:
		return max
	}
	return int(n)
}

// maxPageBytes bounds the records of one page, below the 4 MiB that
// gRPC's libraries take in one message unless told otherwise (grpc-js,
// grpcio and grpc-java as grpc-go): a full page of records written in a
// script of two or three bytes a character comes to more, and a page over
// a client's limit could never be read, whatever its retries. The 64 KiB
// to spare hold the rest of the response.
const maxPageBytes = 4<<20 - 64<<10

// sized is a record whose encoded size is known without reflection.
type sized interface{ SizeVT() int }

// fitPage lists a page of up to size records from token on; when they
// come to more than maxPageBytes it lists again, as many as fit (one at
// least), so that the page is shorter and its token goes on from the last
// record it holds (AIP-158 lets a page hold fewer than asked).
func fitPage[T sized](size int, token string, list func(store.Page) ([]T, string, error)) ([]T, string, error) {
	for {
		found, next, err := list(store.Page{Size: size, Token: token})
		if err != nil {
			return nil, "", err
		}
		n, total := 0, 0
		for _, r := range found {
			total += protowire.SizeBytes(r.SizeVT()) + 1
			if total > maxPageBytes {
				break
			}
			n++
		}
		if n == len(found) || size == 1 {
			return found, next, nil
		}
		size = max(n, 1)
	}
}

// updateRetries bounds the read-modify-write loop of an update without an
// etag, which retries when a concurrent write got in between. Writers to
// one record take turns, so the bound is about how many may pile up.
const updateRetries = 64

// backoff waits a little, more after each attempt and at random, so that
// writers racing for one record do not collide again in step.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Duration(min(attempt, 10)) * 200 * time.Microsecond
	t := time.NewTimer(time.Duration(rand.Int64N(int64(limit) + 1)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
