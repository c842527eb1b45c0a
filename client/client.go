package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Client is a connection to one Doorstep server. The service fields are
// the generated stubs, reached through this client's retries, token and
// timeouts; the methods add what the stubs lack. A Client is safe for
// concurrent use.
type Client struct {
	HelpRequests pb.HelpRequestServiceClient
	Volunteers   pb.VolunteerServiceClient
	Matching     pb.MatchingServiceClient
	Gazetteer    pb.GazetteerServiceClient
	Events       pb.EventServiceClient
	// Admin needs an admin token.
	Admin pb.AdminServiceClient

	conn *grpc.ClientConn
	opts options
}

type options struct {
	tls         *tls.Config
	insecure    bool
	token       string
	callTimeout time.Duration
	retries     int
	backoff     time.Duration
	dialOptions []grpc.DialOption
	// maxRequestBytes is the server's request size limit, which
	// ImportHelpRequests keeps each batch under.
	maxRequestBytes int
}

// maxReplyBytes bounds a reply this client takes. gRPC's default, 4 MiB,
// is less than the server sends in one full page: 1000 requests whose
// text, within its limits in characters, is not ASCII (2000 characters of
// details alone can be 8000 bytes) come to well over 4 MiB, and a page
// the client cannot take could not be read at all, whatever the retries.
const maxReplyBytes = 64 << 20

// keepaliveParams has the connection pinged while a call or stream is open
// and nothing has arrived for a while. A watch on a quiet afternoon reads
// nothing and writes nothing, so without pings a connection whose path died
// unannounced (a laptop that slept, a phone that changed networks) would
// never be noticed, and Watch would wait on it for ever instead of
// reconnecting. Time stays above the server's keepalive MinTime (20s), which
// would otherwise cut the connection for pinging too often.
var keepaliveParams = keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 20 * time.Second}

// Option configures Dial.
type Option func(*options)

// WithTLS uses TLS with this configuration (server name, roots, client
// certificates).
func WithTLS(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// WithInsecure uses a plaintext connection: for a server on loopback or in
// tests only, since tokens and personal data would cross the network in the
// clear.
func WithInsecure() Option { return func(o *options) { o.insecure = true } }

// WithToken sends "authorization: Bearer token" with every call. White
// space around the token is dropped: a token read from a file saved on
// Windows ends in a carriage return, which gRPC refuses to send, and no
// token has white space of its own.
func WithToken(token string) Option {
	return func(o *options) { o.token = strings.TrimSpace(token) }
}

// WithCallTimeout bounds every unary call whose context has no deadline of
// its own, retries and the waits between them included (default 30 s; 0
// means none). Streams, and so Watch, are not bounded.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithRetry retries an idempotent call that failed with UNAVAILABLE, and
// any call the server turned away for its token's call rate
// (RESOURCE_EXHAUSTED, RATE_LIMITED), up to attempts more times, waiting
// base, 2*base, 4*base... with jitter, capped at 5 s (default 4 attempts
// from 100 ms, which gives up after about 1.5 s; 0 attempts turns retries
// off). A job that runs unattended, such as a nightly import, should ride
// out a server restart: WithRetry(8, 500*time.Millisecond) waits about
// 30 s in all, and WithCallTimeout must then allow for it.
// Which calls count as idempotent is set out at IsRetryable; Watch
// reconnects with the same base delay whatever attempts says.
func WithRetry(attempts int, base time.Duration) Option {
	return func(o *options) { o.retries, o.backoff = attempts, base }
}

// WithMaxRequestBytes tells the client the largest request the server
// accepts, when it was started with a --max-recv-bytes other than the
// default (DefaultMaxRequestBytes), so that ImportHelpRequests makes
// batches it will take. Without it, a batch over a lower limit is refused
// and sent again in halves, which costs calls but loses no row.
func WithMaxRequestBytes(n int) Option { return func(o *options) { o.maxRequestBytes = n } }

// WithDialOptions adds gRPC dial options, for example a custom dialer in
// tests.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// Dial connects to the server at addr ("host:port"). It needs WithTLS or
// WithInsecure, so that nobody sends personal data in the clear by
// forgetting an option. The connection is made lazily; ctx bounds only the
// setup.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	o := options{callTimeout: 30 * time.Second, retries: 4, backoff: 100 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var creds credentials.TransportCredentials
	switch {
	case o.tls != nil && o.insecure:
		return nil, errors.New("client: both WithTLS and WithInsecure given")
	case o.tls != nil:
		creds = credentials.NewTLS(o.tls)
	case o.insecure:
		creds = insecure.NewCredentials()
	default:
		return nil, errors.New("client: no transport security chosen: give WithTLS, or WithInsecure for a local server")
	}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(o.unary),
		grpc.WithChainStreamInterceptor(o.stream),
		// Encodes and decodes by generated code rather than reflection, a
		// third of the CPU; the wire format is the same (pb.ClientCodec).
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(pb.ClientCodec()), grpc.MaxCallRecvMsgSize(maxReplyBytes)),
		grpc.WithKeepaliveParams(keepaliveParams),
	}
	if o.token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: o.tls != nil}))
	}
	dopts = append(dopts, o.dialOptions...)
	conn, err := grpc.NewClient(urlZone(addr), dopts...)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", addr, err)
	}
	return &Client{
		HelpRequests: pb.NewHelpRequestServiceClient(conn),
		Volunteers:   pb.NewVolunteerServiceClient(conn),
		Matching:     pb.NewMatchingServiceClient(conn),
		Gazetteer:    pb.NewGazetteerServiceClient(conn),
		Events:       pb.NewEventServiceClient(conn),
		Admin:        pb.NewAdminServiceClient(conn),
		conn:         conn,
		opts:         o,
	}, nil
}

// urlZone escapes the "%" of an IPv6 address's zone in addr
// ("[fe80::1%eth0]:50051", the form net.Dial takes and a link-local
// address needs), as "%25": gRPC reads its target as a URL, where "%et"
// is a broken escape and the dial is refused. A zone escaped already
// ("%25eth0") is left as it is; not an interface's index ("%253"), as
// net.Dial takes it, which gRPC would read as "%3", another link.
func urlZone(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	ip, zone, ok := strings.Cut(host, "%")
	if !ok || net.ParseIP(ip) == nil || (strings.HasPrefix(zone, "25") && len(zone) > 2 && !allDigits(zone)) {
		return addr
	}
	return net.JoinHostPort(ip+"%25"+zone, port)
}

func allDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for services this package does not
// wrap (such as grpc.health.v1).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// bearer sends the token. It lets a plaintext connection carry it only
// because WithInsecure was chosen explicitly, for loopback servers.
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }
