package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// Reasons for refusals of who may call.
const (
	ReasonUnauthenticated  = "UNAUTHENTICATED"
	ReasonPermissionDenied = "PERMISSION_DENIED"
	ReasonRateLimited      = "RATE_LIMITED"
	ReasonTooManyStreams   = "TOO_MANY_STREAMS"
)

// RoleRefused is the message of a call the token's role may not make at
// all, as against a record it may not touch: clients tell them apart by it
// (both are PERMISSION_DENIED), to name the token needed.
const RoleRefused = "this token's role may not make this call"

const (
	admin       = pb.Role_ROLE_ADMIN
	coordinator = pb.Role_ROLE_COORDINATOR
	helpline    = pb.Role_ROLE_HELPLINE
	partner     = pb.Role_ROLE_PARTNER
	volunteer   = pb.Role_ROLE_VOLUNTEER
)

// access says which roles may call each method: the one place that does.
// A method missing from it is denied to everyone, so a new RPC is closed
// until someone decides who may call it. Partners and volunteers are also
// held to their own records by the handlers (see Principal).
var access = map[string][]pb.Role{
	pb.HelpRequestService_CreateHelpRequest_FullMethodName:       {admin, coordinator, helpline, partner},
	pb.HelpRequestService_BatchCreateHelpRequests_FullMethodName: {admin, coordinator, helpline, partner},
	pb.HelpRequestService_GetHelpRequest_FullMethodName:          {admin, coordinator, helpline, partner, volunteer},
	pb.HelpRequestService_ListHelpRequests_FullMethodName:        {admin, coordinator, helpline, partner},
	pb.HelpRequestService_UpdateHelpRequest_FullMethodName:       {admin, coordinator, helpline, partner},
	pb.HelpRequestService_DeleteHelpRequest_FullMethodName:       {admin, coordinator, helpline, partner},

	pb.VolunteerService_CreateVolunteer_FullMethodName: {admin, coordinator, helpline},
	pb.VolunteerService_GetVolunteer_FullMethodName:    {admin, coordinator, helpline, volunteer},
	pb.VolunteerService_ListVolunteers_FullMethodName:  {admin, coordinator, helpline},
	pb.VolunteerService_UpdateVolunteer_FullMethodName: {admin, coordinator, helpline, volunteer},
	pb.VolunteerService_DeleteVolunteer_FullMethodName: {admin, coordinator},

	pb.GazetteerService_LookupPostcode_FullMethodName: {admin, coordinator, helpline, partner, volunteer},

	pb.MatchingService_FindCandidates_FullMethodName:      {admin, coordinator, helpline},
	pb.MatchingService_CreateOffer_FullMethodName:         {admin, coordinator, helpline},
	pb.MatchingService_GetOffer_FullMethodName:            {admin, coordinator, helpline, volunteer},
	pb.MatchingService_ListOffers_FullMethodName:          {admin, coordinator, helpline, volunteer},
	pb.MatchingService_AcceptOffer_FullMethodName:         {admin, coordinator, helpline, volunteer},
	pb.MatchingService_DeclineOffer_FullMethodName:        {admin, coordinator, helpline, volunteer},
	pb.MatchingService_CompleteHelpRequest_FullMethodName: {admin, coordinator, helpline, volunteer},
	pb.MatchingService_ReleaseHelpRequest_FullMethodName:  {admin, coordinator, helpline, volunteer},
	pb.MatchingService_CancelHelpRequest_FullMethodName:   {admin, coordinator, helpline, partner},
	pb.MatchingService_Dispatch_FullMethodName:            {admin, coordinator},

	pb.EventService_WatchEvents_FullMethodName: {admin, coordinator, partner, volunteer},

	pb.AdminService_CreateToken_FullMethodName:        {admin},
	pb.AdminService_ListTokens_FullMethodName:         {admin},
	pb.AdminService_RevokeToken_FullMethodName:        {admin},
	pb.AdminService_CreateOrganisation_FullMethodName: {admin},
	pb.AdminService_ListOrganisations_FullMethodName:  {admin},
	pb.AdminService_ListAuditRecords_FullMethodName:   {admin},
	pb.AdminService_ExportPersonalData_FullMethodName: {admin},
	pb.AdminService_ErasePersonalData_FullMethodName:  {admin},
	pb.AdminService_CreateBackup_FullMethodName:       {admin},

	// Reflection describes the API, not its data: any principal may use
	// it (grpcurl needs it).
	reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName:        {admin, coordinator, helpline, partner, volunteer},
	reflectionv1alphapb.ServerReflection_ServerReflectionInfo_FullMethodName: {admin, coordinator, helpline, partner, volunteer},
}

// open are the methods that need no token: load balancers and
// orchestrators probe health without credentials.
var open = map[string]bool{
	healthpb.Health_Check_FullMethodName: true,
	healthpb.Health_Watch_FullMethodName: true,
	healthpb.Health_List_FullMethodName:  true,
}

// Access returns a copy of the table, for documentation and tests.
func Access() map[string][]pb.Role {
	out := make(map[string][]pb.Role, len(access))
	for m, r := range access {
		out[m] = append([]pb.Role(nil), r...)
	}
	return out
}

// OpenMethods returns the methods that need no token.
func OpenMethods() []string {
	var out []string
	for m := range open {
		out = append(out, m)
	}
	return out
}

// Principal is who is calling.
type Principal struct {
	Token        string // "tokens/{id}"
	Role         pb.Role
	Organisation string // for partners
	Volunteer    string // "volunteers/{id}", for volunteers
	hash         [32]byte
}

// principalFrom is who is calling (see callInfo), or nil for a call that
// needs no token.
func principalFrom(ctx context.Context) *Principal {
	if ci := callFrom(ctx); ci != nil && ci.known {
		return &ci.principal
	}
	return nil
}

// sees reports whether the principal sees records of every organisation
// and all their personal data.
func (p *Principal) sees() bool {
	return p == nil || p.Role == admin || p.Role == coordinator || p.Role == helpline
}

// NewSecret returns a new bearer secret and the hash the store keeps.
func NewSecret() (string, [32]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [32]byte{}, err
	}
	secret := "ds_" + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, sha256.Sum256([]byte(secret)), nil
}

// SystemAudit returns ctx with an audit record of the server's own act
// (actor "system"), such as making the first admin token, for the write
// made with it.
func SystemAudit(ctx context.Context, action string) context.Context {
	return store.WithAudit(ctx, &pb.AuditRecord{Action: action, Actor: "system"})
}

// BootstrapAdminToken makes the first admin token on a store that has
// none and returns its secret; on a store with tokens it returns "".
func BootstrapAdminToken(ctx context.Context, st store.Store) (string, error) {
	secret, hash, err := NewSecret()
	if err != nil {
		return "", err
	}
	_, err = st.CreateToken(SystemAudit(ctx, "create"), FirstAdminToken(), hash, true)
	if errors.Is(err, store.ErrExists) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return secret, nil
}

// FirstAdminToken describes the admin token made on an empty store.
func FirstAdminToken() *pb.Token {
	return &pb.Token{DisplayName: "first admin", Role: admin, Creator: "bootstrap"}
}

// RecoveryAdminToken describes an admin token made by doorstepd
// --new-admin-token, with the server stopped, when no admin token is left.
func RecoveryAdminToken() *pb.Token {
	return &pb.Token{DisplayName: "recovery admin", Role: admin, Creator: "recovery"}
}

// authenticate finds the caller's principal and checks the table.
func (s *Server) authenticate(ctx context.Context, method string) (context.Context, error) {
	if open[method] {
		return ctx, nil
	}
	ci := callFrom(ctx)
	var tok *pb.Token
	var hash [32]byte
	if ci != nil && ci.tapped != nil && ci.method == method {
		tok, hash = ci.tapped, ci.tappedHash
		// Its message has come: it is unread no more. A stop that finds
		// the call ended has been counted already.
		if ci.unread != nil && ci.unread() {
			s.unread.release(tok.Name)
		}
	} else {
		var err error
		if tok, hash, err = s.token(ctx); err != nil {
			if _, ok := status.FromError(err); !ok {
				err = s.errs.toStatus(ctx, err, notFound{})
			}
			return nil, err
		}
	}
	if ci == nil { // not through logCalls or logStreams
		ctx, ci = withCall(ctx, callInfo{})
	}
	// Lower case: tokens made before CreateToken wrote ids so may name
	// their volunteer in capitals, and records name themselves in lower.
	ci.principal = Principal{Token: tok.Name, Role: tok.Role, Organisation: tok.Organisation, Volunteer: strings.ToLower(tok.Volunteer), hash: hash}
	p := &ci.principal
	// A call the role may not make counts too: a script repeating one
	// costs the lookup above all the same, and would otherwise never be
	// slowed down.
	ok, say := s.limiter.allow(p.Token, time.Now())
	s.overRate(p, say)
	if !ok {
		return nil, statusWith(codes.ResourceExhausted, ReasonRateLimited, "too many calls with this token; slow down and retry shortly", nil)
	}
	allowed := false
	for _, r := range access[method] {
		allowed = allowed || r == p.Role
	}
	if !allowed {
		return nil, statusWith(codes.PermissionDenied, ReasonPermissionDenied, RoleRefused, nil)
	}
	ci.known = true
	return ctx, nil
}

// token is the caller's usable token and its hash. A call without one
// is refused (UNAUTHENTICATED); a store's failure is returned as it is.
func (s *Server) token(ctx context.Context) (*pb.Token, [32]byte, error) {
	secret := bearer(ctx)
	if secret == "" {
		return nil, [32]byte{}, statusWith(codes.Unauthenticated, ReasonUnauthenticated, "this call needs a token: send the metadata \"authorization: Bearer <token>\"", nil)
	}
	hash := sha256.Sum256([]byte(secret))
	tok, err := s.store.TokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, hash, statusWith(codes.Unauthenticated, ReasonUnauthenticated, "the token is not known", nil)
	}
	if err != nil {
		return nil, hash, err
	}
	if err := store.TokenUsable(tok, s.now()); err != nil {
		return nil, hash, statusWith(codes.Unauthenticated, ReasonUnauthenticated, err.Error(), nil)
	}
	return tok, hash, nil
}

// refuseEarly is gRPC's tap: it runs as soon as a call's headers have
// come, before its message is read, on the connection's own reader. gRPC
// reads a unary call's whole message before any interceptor runs, and
// holds what has come of it until the rest does: without this, anyone who
// reached the port could make the server hold --max-recv-bytes for each
// call open on a connection (a thousand), never sending the last byte. A
// call that needs a token and has none that can be used is refused here;
// the rest of authenticate (the role, the rate) is left to it, and so is
// a store's failure, said there with its incident. A token known to the
// server is read from the store's cache; one not known, from the file,
// as authenticate would.
//
// The token it read is left in the call's context (tappedCall), so that
// authenticate does not hash and look it up a second time.
func (s *Server) refuseEarly(ctx context.Context, method string) (context.Context, error) {
	if open[method] {
		return ctx, s.countOpenCall(ctx)
	}
	tok, hash, err := s.token(ctx)
	if status.Code(err) == codes.Unauthenticated {
		return ctx, err
	}
	if err != nil {
		return ctx, nil // the store's failure: authenticate says it
	}
	ctx, ci := tappedCall(ctx, method)
	if err := s.countUnread(ctx, ci, tok.Name); err != nil {
		// Named as a token over its rate is: the operator sees the
		// refusals counted, and memory held, and must learn whose it is.
		s.overRate(&Principal{Token: tok.Name, Role: tok.Role, Organisation: tok.Organisation}, s.limiter.refuse(tok.Name, time.Now()))
		return ctx, err
	}
	ci.tapped, ci.tappedHash = tok, hash
	return ctx, nil
}

// MinUnreadCalls is the fewest calls whose message is still coming that a
// token may have, however low its burst. The burst bounds calls as they
// start, one taken from the bucket each, and these have taken none yet:
// with --rate-burst 1, a partner's batch going up a slow line for seconds
// would otherwise have every other call of its token refused though the
// bucket held one for it. A token with a low burst may so make the
// server hold 32 calls' --max-recv-bytes, as many calls as a connection
// without a token may hold open (MaxOpenCallsPerConn).
const MinUnreadCalls = MaxOpenCallsPerConn

// countUnread counts a call of token's whose headers have come and whose
// message is still coming, or refuses it: gRPC holds what has come of each until
// the rest does, before the rate limit is asked, so a token could
// otherwise make the server hold --max-recv-bytes for each of as many
// calls as it opened, on as many connections as it liked. A token may
// have as many such calls as it may start at once (its burst), and
// MinUnreadCalls at least. A call counts until the server has read its
// message (authenticate), not until the last byte comes: a client sending
// its calls whole comes near the bound only with more calls at once than
// that waiting for a busy server (256 callers of one token whose rate was
// raised past what the server serves were refused), and then the messages
// waiting are held all the same. It counts until authenticate has the
// message or ctx (the call's) is done. Without a rate limit nothing is
// counted.
func (s *Server) countUnread(ctx context.Context, ci *callInfo, token string) error {
	if s.limiter.rate <= 0 {
		return nil
	}
	if !s.unread.take(token, int(max(s.limiter.burst, MinUnreadCalls))) {
		return statusWith(codes.ResourceExhausted, ReasonRateLimited, "too many calls with this token whose message has not yet come; let them finish, then retry", nil)
	}
	ci.unread = context.AfterFunc(ctx, func() { s.unread.release(token) })
	return nil
}

// MaxOpenCallsPerConn bounds the calls that need no token (health checks
// and watches) one connection may hold open at once. Those calls are
// answered by whoever can reach the port, and a connection may otherwise
// hold a thousand, each a goroutine and what has come of its message, for
// as long as it likes. A load balancer checks one at a time, and a
// client's health checking watches one name per connection; the bench
// harness checks 16 at a time on each of its connections, and a call's
// end is counted a moment after its answer goes, so there is room over
// that.
const MaxOpenCallsPerConn = 32

// countOpenCall counts a call that needs no token against its
// connection, or refuses it, until ctx (the call's) is done. gRPC puts one
// peer in the context of every call on a connection, and a peer is a
// connection's: a test holds that to the bound.
func (s *Server) countOpenCall(ctx context.Context) error {
	conn, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	if !s.openCalls.take(conn, MaxOpenCallsPerConn) {
		return statusWith(codes.ResourceExhausted, ReasonTooManyStreams, "this connection has as many calls without a token open as it may; close one first", nil)
	}
	context.AfterFunc(ctx, func() { s.openCalls.release(conn) })
	return nil
}

// stillValid checks again, for a stream that outlives its first check,
// that the caller's token is neither revoked nor expired: a lost phone's
// or a departed partner's open stream must stop telling of the requests
// as soon as its token is withdrawn, not when the connection drops.
func (s *Server) stillValid(ctx context.Context) error {
	p := principalFrom(ctx)
	if p == nil || p.hash == [32]byte{} {
		return nil
	}
	tok, err := s.store.TokenByHash(ctx, p.hash)
	if errors.Is(err, store.ErrNotFound) {
		return statusWith(codes.Unauthenticated, ReasonUnauthenticated, "the token is not known", nil)
	}
	if err != nil {
		return s.errs.toStatus(ctx, err, notFound{})
	}
	if err := store.TokenUsable(tok, s.now()); err != nil {
		return statusWith(codes.Unauthenticated, ReasonUnauthenticated, err.Error(), nil)
	}
	return nil
}

func bearer(ctx context.Context) string {
	// The scheme is case-insensitive (RFC 7235): libraries and proxies
	// send "Bearer", "bearer" or "BEARER".
	const scheme = "bearer "
	// ValueFromIncomingContext reads the one key; FromIncomingContext
	// would copy every header of the call first.
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if len(v) >= len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
			return strings.TrimSpace(v[len(scheme):])
		}
	}
	return ""
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return s.utf8Unary(ctx, req, info, handler) // the next interceptor (see logCalls)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	p := principalFrom(ctx)
	if p == nil {
		return handler(srv, &methodStream{ServerStream: ss, ctx: ctx})
	}
	if !s.streams.take(p.Token, s.maxStreams) {
		return statusWith(codes.ResourceExhausted, ReasonTooManyStreams, "this token has as many open streams as it may; close one first", nil)
	}
	defer s.streams.release(p.Token)
	return handler(srv, &limitedStream{ServerStream: ss, ctx: ctx, s: s, token: p.Token})
}

// limitedStream counts each message after a stream's first against its
// token's rate, as a call of its own: a stream that takes request after
// request (reflection) would otherwise serve a loop at full speed.
type limitedStream struct {
	grpc.ServerStream
	ctx      context.Context
	s        *Server
	token    string
	received bool
}

func (l *limitedStream) Context() context.Context { return l.ctx }

func (l *limitedStream) RecvMsg(m any) error {
	// Charged once the message has come, not when the wait for it begins:
	// the server waits for the next as soon as it has answered one, and
	// the wait may end in the client's end of its side (io.EOF), which is
	// no request, or in a message long after, when the bucket has filled.
	if err := l.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !l.received {
		l.received = true // the stream's first, charged as its call
		return nil
	}
	ok, say := l.s.limiter.allow(l.token, time.Now())
	l.s.overRate(principalFrom(l.ctx), say)
	if !ok {
		return statusWith(codes.ResourceExhausted, ReasonRateLimited, "too many requests with this token; slow down and retry shortly", nil)
	}
	return nil
}

// overRate logs that p's calls are refused for its rate, when allow says
// to (say, the refusals not yet logged, is above 0). The refusals are
// counted in the metrics by method alone; in a deployment serving many
// groups, this line is how the operator learns whose token it is (its
// name, role and organisation, never its secret), to call them or revoke
// it.
func (s *Server) overRate(p *Principal, say int) {
	if say == 0 || p == nil {
		return
	}
	s.logger.Warn("calls refused: token over its rate limit", append(p.logFields(), zap.Int("refused", say))...)
}

// logFields name the caller in a log line about the load it makes (an
// import, a stream it stopped reading): its token's name, role and
// organisation, never its secret, so that in a deployment serving many
// groups the operator can tell whose it is. Nil for a call without one.
func (p *Principal) logFields() []zap.Field {
	if p == nil {
		return nil
	}
	fields := []zap.Field{zap.String("token", p.Token), zap.String("role", strings.ToLower(strings.TrimPrefix(p.Role.String(), "ROLE_")))}
	if p.Organisation != "" {
		fields = append(fields, zap.String("organisation", p.Organisation))
	}
	return fields
}

// rateSaidEvery is how often a token's refusals for its rate are logged
// while they go on: one line for its first, then one a minute at most with
// how many there were since, as a runaway loop makes thousands a minute.
const rateSaidEvery = time.Minute

// limiter is a token bucket per principal: one principal's burst cannot
// starve the others, and each waits only for its own.
type limiter struct {
	rate  float64 // calls per second; 0 means no limit
	burst float64
	mu    sync.Mutex
	byKey map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	// refused counts the refusals not yet logged; said is when the last
	// were (see rateSaidEvery).
	refused int
	said    time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(max(burst, 1)), byKey: map[string]*bucket{}}
}

// allow takes a call from key's bucket. It also says in say how many of
// key's refusals are to be logged now: its first, then those since once
// rateSaidEvery has passed, at its next call whether refused or not (a
// script that backs off after a burst is within its rate again, and its
// burst would otherwise wait unsaid for its next refusal); 0 meanwhile.
func (l *limiter) allow(key string, now time.Time) (ok bool, say int) {
	if l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	// now was read before the lock: another call of key's, read after it,
	// may have come first, and the time between is not to be taken back.
	if now.After(b.last) {
		b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
	}
	ok = b.tokens >= 1
	if ok {
		b.tokens--
	} else {
		b.refused++
	}
	return ok, b.say(now)
}

// refuse counts a call of key's refused before allow was asked (too many
// of its calls still sending their message: unreadCalls) with those over
// its rate, and says as allow does how many are to be logged now.
func (l *limiter) refuse(key string, now time.Time) (say int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	b.refused++
	return b.say(now)
}

// bucket is key's bucket, a full one if it had none.
func (l *limiter) bucket(key string, now time.Time) *bucket {
	b, ok := l.byKey[key]
	if !ok {
		if len(l.byKey) > maxLimited {
			l.forget(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.byKey[key] = b
	}
	return b
}

// say is how many of the bucket's refusals are to be logged now (see
// allow), and marks them said.
func (b *bucket) say(now time.Time) (say int) {
	if b.refused > 0 && (b.said.IsZero() || now.Sub(b.said) >= rateSaidEvery) {
		say, b.refused, b.said = b.refused, 0, now
	}
	return say
}

// maxLimited bounds the buckets a limiter keeps: past it, those as good
// as new are let go (forget).
const maxLimited = 100000

// forget lets go of the buckets as good as new: full by now, with no
// refusal unsaid. A bucket still short of tokens, or with refusals not
// yet logged (a runaway script's), is kept: clearing them all gave the
// script a full burst again and lost the count of its refusals since its
// last line. Should more than half the buckets be in use (a slow rate,
// whose buckets take minutes to fill, and a busy morning), those within
// their rate go too, a full bucket for them the safe side, and only those
// over it stay: clearing every one gave the script its burst back there
// too. Should even those be more than half, all go. Memory is bounded,
// and a walk of them all is made at most once in maxLimited/2 new tokens.
func (l *limiter) forget(now time.Time) {
	l.forgetAll(func(b *bucket, tokens float64) bool { return b.refused == 0 && tokens >= l.burst }, now)
	if len(l.byKey) > maxLimited/2 {
		l.forgetAll(func(b *bucket, tokens float64) bool { return b.refused == 0 && tokens >= 1 }, now)
	}
	if len(l.byKey) > maxLimited/2 {
		clear(l.byKey)
	}
}

// forgetAll lets go of the buckets that let says may go, given their
// tokens by now.
func (l *limiter) forgetAll(let func(b *bucket, tokens float64) bool, now time.Time) {
	for key, b := range l.byKey {
		if let(b, b.tokens+now.Sub(b.last).Seconds()*l.rate) {
			delete(l.byKey, key)
		}
	}
}

// held counts, per key, what each holds and refuses more past a bound: the
// event streams a token holds open, the calls without a token a
// connection holds, a token's calls whose message is not yet read.
type held[K comparable] struct {
	mu    sync.Mutex
	count map[K]int
}

// take counts one more for key, unless it holds most already (most <= 0:
// no bound).
func (h *held[K]) take(key K, most int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if most > 0 && h.count[key] >= most {
		return false
	}
	if h.count == nil {
		h.count = map[K]int{}
	}
	h.count[key]++
	return true
}

// release counts one fewer for key.
func (h *held[K]) release(key K) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count[key]--; h.count[key] <= 0 {
		delete(h.count, key)
	}
}
