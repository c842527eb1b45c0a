// Command doorstepd serves the Doorstep API over gRPC, storing everything
// in one bbolt file under its data directory.
//
// Every flag that configures the running server can also be set by an
// environment variable (flags win):
//
//	--listen            DOORSTEP_LISTEN            address to serve on (localhost:50051)
//	--data-dir          DOORSTEP_DATA_DIR          where the data file lives (./doorstep-data)
//	--gazetteer         DOORSTEP_GAZETTEER         ONS Postcode Directory CSV to load at start
//	--log-level         DOORSTEP_LOG_LEVEL         debug, info, warn or error (info)
//	--log-format        DOORSTEP_LOG_FORMAT        json or console (json)
//	--max-recv-bytes    DOORSTEP_MAX_RECV_BYTES    largest request accepted (1048576)
//	--shutdown-timeout  DOORSTEP_SHUTDOWN_TIMEOUT  how long to let calls finish on SIGINT/SIGTERM/SIGHUP; a second SIGINT or SIGTERM stops at once (10s)
//	--offer-lease       DOORSTEP_OFFER_LEASE       how long an offer waits for the volunteer, 1m to 168h (30m)
//	--dispatch-every    DOORSTEP_DISPATCH_EVERY    run automatic dispatch this often, and at once for a critical request; 0 turns it off (0)
//	--dispatch-candidates DOORSTEP_DISPATCH_CANDIDATES  eligible volunteers each request brings to a dispatch, 1 to 100 (20)
//	--sweep-every       DOORSTEP_SWEEP_EVERY       how often lapsed offers and past requests expire (15s)
//	--pause-after-unanswered DOORSTEP_PAUSE_AFTER_UNANSWERED  offers in a row a volunteer may leave unanswered before they are paused; 0 never (3)
//	--event-retention   DOORSTEP_EVENT_RETENTION   how long the event log keeps events (168h)
//	--personal-data-retention DOORSTEP_PERSONAL_DATA_RETENTION  how long closed requests keep personal data (720h)
//	--assignment-grace        DOORSTEP_ASSIGNMENT_GRACE         how long after its time an assignment nobody marked done is marked fulfilled (168h)
//	--tls-cert          DOORSTEP_TLS_CERT          PEM certificate chain to serve TLS with (read again when it or the key changes)
//	--tls-key           DOORSTEP_TLS_KEY           its PEM private key
//	--tls-client-ca     DOORSTEP_TLS_CLIENT_CA     PEM CAs whose client certificates are required
//	--insecure          DOORSTEP_INSECURE          allow plaintext on an address that is not loopback
//	--admin-token-file  DOORSTEP_ADMIN_TOKEN_FILE  where to write the first admin token (else stderr)
//	--rate-limit        DOORSTEP_RATE_LIMIT        calls per second per token; 0 turns it off (100)
//	--rate-burst        DOORSTEP_RATE_BURST        calls one token may make at once (200)
//	--max-streams       DOORSTEP_MAX_STREAMS       event streams one token may hold open (8)
//	--gc-percent        DOORSTEP_GC_PERCENT        garbage collection target, as GOGC (400; GOGC's own when that is set)
//	--matching-config   DOORSTEP_MATCHING_CONFIG   JSON file of matching rules: each need's reach, vetting and skills, and the ranking weights
//	--backup-dir        DOORSTEP_BACKUP_DIR        directory the server writes a backup under when asked (doorstep admin backup); unset: refused
//	--metrics-listen    DOORSTEP_METRICS_LISTEN    address to serve Prometheus metrics on (HTTP, GET /metrics, no authentication); unset: none
//
// Two flags are one-off acts, flags only, so that a variable left in a
// service's environment cannot repeat them at every start: --restored (a
// first start from a copy taken with the server stopped) and
// --new-admin-token (make another admin token and exit).
//
// Without a certificate doorstepd serves plaintext, and then only on a
// loopback address unless --insecure says otherwise: tokens and personal
// data must not cross a network in the clear by accident. On an empty data
// file it makes the first admin token and shows it once, when nothing in
// its flags or files can still stop the start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"

	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

func main() {
	// Go's runtime kills a process by SIGPIPE at its first write to a
	// stderr whose reader has gone (journald restarted, `doorstepd 2>&1 |
	// head`), even one started with SIGPIPE ignored, as systemd starts it
	// (IgnoreSIGPIPE=yes): mid-call, with no graceful stop, and as a clean
	// exit that Restart=on-failure does not restart. Ignored, the write
	// fails and the server serves on; only its log is lost.
	signal.Ignore(syscall.SIGPIPE)
	// SIGHUP (the terminal closed, or a unit's ExecReload=kill -HUP; there
	// is nothing to reload: certificates are read again as they change)
	// stops the server as SIGTERM does, where Go's default cut every call
	// short. Started with it ignored (nohup), the server is meant to
	// outlive its terminal, and catching it would undo that.
	var gentle []os.Signal
	if !signal.Ignored(syscall.SIGHUP) {
		gentle = append(gentle, syscall.SIGHUP)
	}
	ctx, force, stop := shutdownSignals([]os.Signal{syscall.SIGINT, syscall.SIGTERM}, gentle...)
	defer stop()
	if err := run(ctx, force, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "doorstepd:", err)
		}
		os.Exit(2)
	}
}

// shutdownSignals returns a context done at the first of sigs or gentle
// and a channel closed at the second of sigs. The first asks for a
// graceful stop, which may wait --shutdown-timeout for calls to finish; an
// operator who presses Ctrl-C again means now. A gentle signal only asks
// for the graceful stop, however often it comes: a closed terminal can
// send SIGHUP twice (the shell passing it on, then the kernel), and
// systemd's SendSIGHUP=yes sends it just after SIGTERM. After the second of
// sigs, sigs and gentle get their default action back, so that a stop that
// still hangs (a store that will not close) can be ended by a third.
func shutdownSignals(sigs []os.Signal, gentle ...os.Signal) (context.Context, <-chan struct{}, func()) {
	caught := make(chan os.Signal, 2) // both, however quickly they come
	signal.Notify(caught, sigs...)
	hangups := make(chan os.Signal, 1)
	if len(gentle) > 0 {
		signal.Notify(hangups, gentle...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer signal.Stop(caught)
		defer signal.Stop(hangups)
		for caughtSoFar := 0; caughtSoFar < 2; {
			select {
			case <-caught:
				if caughtSoFar++; caughtSoFar == 1 {
					cancel()
				} else {
					close(force)
				}
			case <-hangups:
				cancel()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, force, func() { once.Do(func() { close(done); cancel() }) }
}

type config struct {
	listen            string
	dataDir           string
	gazetteer         string
	logLevel          string
	logFormat         string
	maxRecvBytes      int
	shutdownTimeout   time.Duration
	offerLease        time.Duration
	dispatchEvery     time.Duration
	sweepEvery        time.Duration
	eventRetention    time.Duration
	personalRetention time.Duration
	assignmentGrace   time.Duration
	tlsCert           string
	tlsKey            string
	tlsClientCA       string
	insecure          bool
	adminTokenFile    string
	newAdminToken     bool
	restored          bool
	rateLimit         float64
	rateBurst         int
	maxStreams        int
	dispatchCands     int
	pauseAfter        int // offers in a row unanswered before a pause
	gcPercent         int // 0 leaves the runtime's own (GOGC, or 100)
	matchingConfig    string
	backupDir         string
	metricsListen     string // "": no metrics
	stderrJournal     bool   // stderr is journald's, which no secret may go to
}

// defaultGCPercent is doorstepd's GOGC. The heap is a small long-lived
// index under a stream of short-lived garbage from every call: Go's
// default (100) collects each time the heap doubles, dozens of times a
// second under load, and each collection's pauses and assists land on the
// calls in flight. At 400 the heap may grow to five times what is live
// (a few hundred MB for 200,000 volunteers) and collections are a quarter
// as frequent: BenchmarkFindCandidatesGRPC's 8-caller p99 over bufconn,
// run alternately with each, fell from 1.6-1.9 ms to 1.0-1.4 ms, its
// throughput unchanged.
const defaultGCPercent = 400

// envRE finds the environment variable a flag's usage names.
var envRE = regexp.MustCompile(`\(env (DOORSTEP_[A-Z_]+)\)`)

// applyEnv sets, from the environment, each flag the command line did not
// give, read as the flag would read it.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		m := envRE.FindStringSubmatch(f.Usage)
		if err != nil || given[f.Name] || m == nil {
			return
		}
		if v := getenv(m[1]); v != "" {
			// The flag package reads 0400 as octal (256) and 0x10 as hex;
			// a variable such as DOORSTEP_GC_PERCENT=0400 means 400.
			set := v
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isInt := g.Get().(int); isInt {
					if n, aerr := strconv.Atoi(v); aerr == nil {
						set = strconv.Itoa(n)
					} else {
						set = "-" // refused below, as the flag refuses it
					}
				}
			}
			if serr := fs.Set(f.Name, set); serr != nil {
				// The flag package says only "parse error": say what would do.
				err = fmt.Errorf("%s=%q: %v; want %s, as for --%s", m[1], v, serr, valueWords(f), f.Name)
			}
		}
	})
	return err
}

// valueWords says what kind of value a flag takes.
func valueWords(f *flag.Flag) string {
	switch kind, _ := flag.UnquoteUsage(f); kind {
	case "duration":
		return "a duration such as 90s, 5m or 2h"
	case "int":
		return "a whole number"
	case "float":
		return "a number"
	case "":
		return "true or false"
	}
	return "a value"
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	// Each flag's usage names its environment variable, which applyEnv
	// reads after the command line, for the flags it did not give: a flag
	// always wins, even over a variable that could not be read.
	var c config
	fs, err := flagSet(&c, getenv)
	if err != nil {
		return c, err
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := applyEnv(fs, getenv); err != nil {
		return c, err
	}
	return c, checkConfig(c, fs)
}

// flagSet defines doorstepd's flags, each setting its field of c. It is
// apart from parseConfig so that a test can hold the README's table of
// flags to it.
func flagSet(c *config, getenv func(string) string) (*flag.FlagSet, error) {
	gcDefault := defaultGCPercent
	if getenv("GOGC") != "" {
		gcDefault = 0 // the operator's GOGC, which the runtime has already applied
	}
	fs := flag.NewFlagSet("doorstepd", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "localhost:50051", "address to serve gRPC on (env DOORSTEP_LISTEN)")
	fs.StringVar(&c.dataDir, "data-dir", "./doorstep-data", "directory of the data file (env DOORSTEP_DATA_DIR)")
	fs.StringVar(&c.gazetteer, "gazetteer", "", "ONS Postcode Directory CSV file to load at start (env DOORSTEP_GAZETTEER)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error (env DOORSTEP_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or console (env DOORSTEP_LOG_FORMAT)")
	fs.IntVar(&c.maxRecvBytes, "max-recv-bytes", server.DefaultMaxRecvBytes, "largest request message accepted, in bytes (env DOORSTEP_MAX_RECV_BYTES)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long running calls may finish on shutdown; a second SIGINT or SIGTERM stops at once (env DOORSTEP_SHUTDOWN_TIMEOUT)")
	for _, d := range []struct {
		p          *time.Duration
		flag, env  string
		def, usage string
	}{
		{&c.offerLease, "offer-lease", "DOORSTEP_OFFER_LEASE", "30m", "how long an offer waits for the volunteer's answer, 1m to 168h"},
		{&c.dispatchEvery, "dispatch-every", "DOORSTEP_DISPATCH_EVERY", "0", "run automatic dispatch this often; 0 turns it off"},
		{&c.sweepEvery, "sweep-every", "DOORSTEP_SWEEP_EVERY", "15s", "how often lapsed offers and past requests are expired"},
		{&c.personalRetention, "personal-data-retention", "DOORSTEP_PERSONAL_DATA_RETENTION", server.DefaultPersonalDataRetention.String(), "how long after a request closes its requester's contact details, notes and address are purged; 0 keeps them until erased"},
		{&c.assignmentGrace, "assignment-grace", "DOORSTEP_ASSIGNMENT_GRACE", server.DefaultAssignmentGrace.String(), "how long after an assigned request's time ends it is marked fulfilled, if nobody marked it, freeing its volunteer; 0 leaves it to people"},
		{&c.eventRetention, "event-retention", "DOORSTEP_EVENT_RETENTION", server.DefaultEventRetention.String(), "how long the event log keeps events for watchers to catch up; 0 keeps them for ever"},
	} {
		v, err := time.ParseDuration(d.def)
		if err != nil {
			return nil, fmt.Errorf("--%s default: %w", d.flag, err)
		}
		fs.DurationVar(d.p, d.flag, v, d.usage+" (env "+d.env+")")
	}
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate chain to serve TLS with, read again when it or the key changes: a renewal needs no restart (env DOORSTEP_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert (env DOORSTEP_TLS_KEY)")
	fs.StringVar(&c.tlsClientCA, "tls-client-ca", "", "PEM CA certificates; when given, clients must present a certificate they signed (env DOORSTEP_TLS_CLIENT_CA)")
	fs.BoolVar(&c.insecure, "insecure", false, "serve plaintext on an address that is not loopback: only behind a TLS-terminating proxy (env DOORSTEP_INSECURE)")
	fs.StringVar(&c.matchingConfig, "matching-config", "", "JSON file of matching rules (each need's reach, vetting and skills; the ranking weights) over the defaults (env DOORSTEP_MATCHING_CONFIG)")
	fs.StringVar(&c.backupDir, "backup-dir", "", "directory AdminService.CreateBackup (doorstep admin backup) writes backups under; without it backups are refused (env DOORSTEP_BACKUP_DIR)")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "address to serve Prometheus metrics on, over plain HTTP at GET /metrics, with no authentication: bind it to localhost or a private network; unset, none are served (env DOORSTEP_METRICS_LISTEN)")
	fs.StringVar(&c.adminTokenFile, "admin-token-file", "", "on an empty data file, write the first admin token here (mode 0600) instead of to stderr (env DOORSTEP_ADMIN_TOKEN_FILE)")
	fs.BoolVar(&c.restored, "restored", false, "the data file was put back from a copy taken with the server stopped (or a disk snapshot): move its revisions on past any the lost server handed out and tell every watcher to reload. Give it on the first start after such a restore only; a backup doorstep admin backup wrote needs no flag")
	fs.BoolVar(&c.newAdminToken, "new-admin-token", false, "make another admin token in the data file, hand it over as the first (--admin-token-file or stderr), and exit without serving: for when every admin token is lost, revoked or expired. Stop the server first")
	fs.Float64Var(&c.rateLimit, "rate-limit", server.DefaultRate, "calls per second one token may make; 0 turns the limit off (env DOORSTEP_RATE_LIMIT)")
	for _, d := range []struct {
		p         *int
		flag, env string
		def       int
		usage     string
	}{
		{&c.rateBurst, "rate-burst", "DOORSTEP_RATE_BURST", server.DefaultBurst, "calls one token may make in a burst"},
		{&c.maxStreams, "max-streams", "DOORSTEP_MAX_STREAMS", server.DefaultMaxStreams, "event streams one token may hold open"},
		{&c.pauseAfter, "pause-after-unanswered", "DOORSTEP_PAUSE_AFTER_UNANSWERED", store.DefaultPauseAfterUnanswered, "offers in a row a volunteer may let run out unanswered before they are paused (they or a coordinator resume them); 0 never pauses"},
		{&c.dispatchCands, "dispatch-candidates", "DOORSTEP_DISPATCH_CANDIDATES", server.DefaultCandidatesPerRequest, "eligible volunteers each request brings to a dispatch, nearest first: more can cover more requests when volunteers are scarce"},
		{&c.gcPercent, "gc-percent", "DOORSTEP_GC_PERCENT", gcDefault, "garbage collection target, as GOGC: how far the heap may grow, in percent of what is live, before a collection; 0 leaves GOGC's"},
	} {
		fs.IntVar(d.p, d.flag, d.def, d.usage+" (env "+d.env+")")
	}
	return fs, nil
}

// checkConfig refuses a configuration that cannot work, before anything
// is opened.
func checkConfig(c config, fs *flag.FlagSet) error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.tlsClientCA != "" && c.tlsCert == "" {
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	}
	// strconv reads "NaN" and "Inf" as numbers; NaN would let every call
	// through, and 0 is the one way to say no limit.
	if math.IsNaN(c.rateLimit) || math.IsInf(c.rateLimit, 0) {
		return fmt.Errorf("--rate-limit %v must be a number of calls per second (0 turns the limit off)", c.rateLimit)
	}
	if c.rateLimit < 0 || c.rateBurst < 1 || c.maxStreams < 1 {
		return errors.New("--rate-limit must not be negative, --rate-burst and --max-streams at least 1")
	}
	if c.pauseAfter < 0 || c.pauseAfter > 1000 {
		return fmt.Errorf("--pause-after-unanswered %d must be from 0 (never pause) to 1000", c.pauseAfter)
	}
	if c.dispatchCands < 1 || c.dispatchCands > server.MaxCandidatesPerRequest {
		return fmt.Errorf("--dispatch-candidates must be from 1 to %d", server.MaxCandidatesPerRequest)
	}
	if c.gcPercent < 0 {
		return errors.New("--gc-percent must not be negative (GOGC=off turns collection off)")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// Listening waits for the index, which takes seconds on a large
	// store: a mistyped address must not cost them first.
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		return fmt.Errorf("--listen %q: want host:port, such as localhost:50051 or :50051: %v", c.listen, err)
	}
	if c.metricsListen != "" {
		if _, _, err := net.SplitHostPort(c.metricsListen); err != nil {
			return fmt.Errorf("--metrics-listen %q: want host:port, such as localhost:9090 or 10.0.0.5:9090: %v", c.metricsListen, err)
		}
	}
	if c.maxRecvBytes < 4096 {
		return errors.New("--max-recv-bytes must be at least 4096")
	}
	if c.sweepEvery < time.Second {
		return fmt.Errorf("--sweep-every %v must be at least 1s", c.sweepEvery)
	}
	// A few nanoseconds is a slip for seconds or hours: dispatch or the
	// sweep would run back to back, and watchers find nothing to resume.
	for _, d := range []struct {
		flag, zero string
		v, least   time.Duration
	}{
		{"--dispatch-every", "turns automatic dispatch off", c.dispatchEvery, time.Second},
		{"--event-retention", "keeps events for ever", c.eventRetention, time.Minute},
		{"--personal-data-retention", "keeps personal data until erased", c.personalRetention, time.Hour},
		{"--assignment-grace", "leaves assignments for people to mark done", c.assignmentGrace, time.Hour},
	} {
		if d.v > 0 && d.v < d.least {
			return fmt.Errorf("%s %v is too short: at least %v, or 0, which %s", d.flag, d.v, d.least, d.zero)
		}
		if d.v < 0 {
			return fmt.Errorf("%s %v must not be negative: 0 %s", d.flag, d.v, d.zero)
		}
	}
	if c.shutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %v must not be negative: 0 cancels running calls at once", c.shutdownTimeout)
	}
	if c.offerLease < server.MinLease || c.offerLease > server.MaxLease {
		return fmt.Errorf("--offer-lease %v must be from %v to %v", c.offerLease, server.MinLease, server.MaxLease)
	}
	// zap's own words for a mistake name no level that would do, and it
	// takes levels past error (fatal, panic) that silence every error line.
	if lvl, err := zapcore.ParseLevel(c.logLevel); err != nil || lvl > zapcore.ErrorLevel {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	if c.logFormat != "json" && c.logFormat != "console" {
		return fmt.Errorf("--log-format %q: want json or console", c.logFormat)
	}
	return nil
}

// matchingConfig reads --matching-config before anything is served, so
// that a mistake in it stops the start with the field at fault.
func matchingConfig(path string) (server.Option, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--matching-config: %w", err)
	}
	defer f.Close()
	cfg, err := server.ReadMatchingConfig(f)
	if err != nil {
		return nil, fmt.Errorf("--matching-config %s: %w", path, err)
	}
	return server.WithMatcherConfig(cfg), nil
}

// newLogger logs to out (run's stderr: the process's, under main), so
// that what the server says can be read where it is run. It is zap's
// production logger otherwise: sampled below error, with callers, and
// stacks on errors.
func newLogger(c config, out io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(c.logLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	if c.logFormat == "console" {
		enc = zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	}
	sink := zapcore.Lock(zapcore.AddSync(out))
	// Lines below error are sampled, 100 a second of each message and
	// then 1 in 100, so that a flood of one cannot drown the rest. Error
	// lines are not: each is a fault of its own, and carries the incident
	// id its caller was given to quote to whoever runs the server.
	below := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return lvl.Enabled(l) && l < zapcore.ErrorLevel })
	faults := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return lvl.Enabled(l) && l >= zapcore.ErrorLevel })
	core := zapcore.NewTee(
		zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, sink, below), time.Second, 100, 100),
		zapcore.NewCore(enc.Clone(), sink, faults),
	)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel), zap.ErrorOutput(sink)), nil
}

// testStoreOptions are added to the store's by tests: a commit observer
// that blocks holds a commit as a disk that stops answering does.
var testStoreOptions []store.Option

// run serves until ctx is done, then lets running calls finish for up to
// --shutdown-timeout, or until force is closed (nil: never). ready, when
// not nil, receives the address served on once the server accepts calls.
// A ctx done before then ends the start without serving, and is no error:
// the stop was asked for.
//
// Everything a flag names (files, the address, the matching rules) is
// checked before the first admin token is made: that token is shown only
// once, and a start that then failed would leave no one holding it.
func run(ctx context.Context, force <-chan struct{}, args []string, getenv func(string) string, stderr io.Writer, ready chan<- net.Addr) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	c.stderrJournal = stderrIsJournal(stderr, getenv("JOURNAL_STREAM"))
	logger, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	if c.newAdminToken {
		return recoverAdmin(ctx, c, logger, stderr)
	}
	gcPercent := c.gcPercent
	if gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	} else {
		// GOGC's own, or the runtime's default: read back, so that the
		// start says what is in force rather than 0, which reads as
		// collection turned off (-1 is GOGC=off).
		gcPercent = debug.SetGCPercent(100)
		debug.SetGCPercent(gcPercent)
	}
	creds, err := transportCredentials(c, logger)
	if err != nil {
		return err
	}
	opts := []server.Option{server.WithLease(c.offerLease), server.WithEventRetention(c.eventRetention), server.WithPersonalDataRetention(c.personalRetention),
		server.WithAssignmentGrace(c.assignmentGrace),
		server.WithRateLimit(c.rateLimit, c.rateBurst), server.WithMaxStreams(c.maxStreams), server.WithCandidatesPerRequest(c.dispatchCands)}
	var metrics *server.Metrics
	if c.metricsListen != "" {
		metrics = server.NewMetrics()
		opts = append(opts, server.WithMetrics(metrics))
	}
	if c.matchingConfig != "" {
		o, err := matchingConfig(c.matchingConfig)
		if err != nil {
			return err
		}
		opts = append(opts, o)
		logger.Info("matching config loaded", zap.String("file", c.matchingConfig))
	}

	if err := mkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if c.backupDir != "" {
		// Absolute, so that the directory a backup names means something
		// to whoever reads the reply; made now, so that a path that cannot
		// be used stops the start rather than the first backup.
		dir, err := filepath.Abs(c.backupDir)
		if err == nil {
			err = mkdirAll(dir, 0o700)
		}
		if err != nil {
			return fmt.Errorf("--backup-dir: %w", err)
		}
		opts = append(opts, server.WithBackupDir(dir))
		// A backup the server was killed during is no backup and was never
		// audited, but holds everyone's data: whoever runs the server must
		// hear of it, since a stop that could have removed it did not run.
		left, err := store.UnfinishedBackups(dir)
		if err != nil {
			logger.Warn("could not look for unfinished backups", zap.Error(err))
		}
		for _, d := range left {
			logger.Warn("unfinished backup: the server stopped during its copy, so it is no backup and no audit record names it, but it holds everyone's data (and perhaps its key file): delete the directory",
				zap.String("dir", d))
		}
	}
	opening := time.Now()
	storeOpts := []store.Option{store.WithLogger(logger), store.WithPauseAfterUnanswered(c.pauseAfter)}
	if metrics != nil {
		storeOpts = append(storeOpts, store.WithCommitObserver(metrics.StoreCommit))
	}
	if c.restored {
		storeOpts = append(storeOpts, store.WithRestored())
	}
	storeOpts = append(storeOpts, testStoreOptions...)
	st, err := store.Open(filepath.Join(c.dataDir, "doorstep.db"), storeOpts...)
	if err != nil {
		return err
	}
	// The open reads the whole file: after a reboot, at disk speed.
	logger.Info("store opened", zap.Duration("took", time.Since(opening)))
	// A stop forced while a commit never ends (its disk stopped answering)
	// leaves the store open: closing it would wait for that commit too.
	storeStuck, storeClosed := false, false
	defer func() {
		if storeStuck || storeClosed {
			return
		}
		if err := st.Close(); err != nil {
			logger.Error("close store", zap.Error(err))
		}
	}()
	if c.gazetteer == "" {
		// Later starts need no --gazetteer, so nothing else would tell
		// that the last load stopped part-way.
		if unfinished, err := st.GazetteerLoadUnfinished(ctx); err != nil {
			return err
		} else if unfinished {
			logger.Warn("the last gazetteer load did not finish: postcodes after where it stopped are missing or out of date; start with --gazetteer FILE to load it again")
		}
	}
	if c.gazetteer != "" {
		start := time.Now()
		stats, err := server.LoadGazetteer(ctx, st, c.gazetteer)
		if err != nil && ctx.Err() != nil {
			// Stopped by a signal: a stop asked for, not a failed start,
			// which a service manager would report as the unit failing.
			logger.Warn("gazetteer load stopped part-way: postcodes after where it stopped are missing or out of date; start with --gazetteer FILE to load it again",
				zap.String("file", c.gazetteer), zap.Int("stored", stats.Store.Stored), zap.Int("removed", stats.Store.Removed))
			return nil
		}
		if err != nil {
			return err
		}
		logger.Info("gazetteer loaded", zap.String("file", c.gazetteer), zap.Int("rows", stats.File.Rows),
			zap.Int("stored", stats.Store.Stored), zap.Int("removed", stats.Store.Removed),
			zap.Int("terminated", stats.File.Terminated), zap.Int("no_coordinates", stats.File.NoCoordinates),
			zap.Int("malformed", stats.File.Malformed), zap.Duration("took", time.Since(start)))
	}
	srv, err := server.New(st, logger, opts...)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		// A signal came while the file opened and the index was built,
		// which take seconds on a large file and do not stop part-way:
		// serving now would only be to stop again.
		logger.Info("stopped before serving")
		return nil
	}
	// Listening waits for the index (above), so that clients are refused
	// rather than left hanging while a large file loads.
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The metrics address is taken before the first admin token is made,
	// as the gRPC one is: one in use stops the start, naming the flag.
	var metricsLis net.Listener
	if c.metricsListen != "" {
		if metricsLis, err = net.Listen("tcp", c.metricsListen); err != nil {
			_ = lis.Close()
			return fmt.Errorf("--metrics-listen: %w", err)
		}
	}
	closeListeners := func() {
		_ = lis.Close()
		if metricsLis != nil {
			_ = metricsLis.Close()
		}
	}
	if creds == nil && !c.insecure && !loopback(lis.Addr()) {
		closeListeners()
		return fmt.Errorf("refusing to serve plaintext on %s, which is not a loopback address: give --tls-cert and --tls-key, or --insecure behind a TLS-terminating proxy", lis.Addr())
	}
	// A signal from here on stops the server once it serves: the token,
	// a quick write, is made and handed over rather than refused half-way.
	if err := announceFirstToken(context.WithoutCancel(ctx), st, c, stderr); err != nil {
		closeListeners()
		return err
	}

	maintainCtx, stopMaintain := context.WithCancel(ctx)
	maintained := make(chan struct{})
	go func() {
		defer close(maintained)
		_ = srv.Maintain(maintainCtx, c.sweepEvery, c.dispatchEvery)
	}()
	maintainEnded := false
	defer func() {
		stopMaintain()
		if !storeStuck && !maintainEnded { // a sweep's write may be in the commit that never ends
			<-maintained
		}
	}()
	var gopts []grpc.ServerOption
	if creds != nil {
		gopts = append(gopts, grpc.Creds(creds))
	}
	g, health := server.NewGRPCServer(srv, server.GRPCConfig{MaxRecvBytes: c.maxRecvBytes}, gopts...)
	serveErr := make(chan error, 2)
	tracked := trackConns(lis, logger)
	go func() { serveErr <- g.Serve(tracked) }()
	if metricsLis != nil {
		// Stopped after the gRPC server (deferred), so that a scrape
		// during the stop still sees the calls finishing.
		ms := serveMetrics(metricsLis, metrics, logger, serveErr)
		defer stopMetrics(ms, force)
	}
	logger.Info("serving", zap.String("addr", lis.Addr().String()), zap.String("data_dir", c.dataDir), zap.Bool("tls", creds != nil),
		zap.Bool("client_certificates", c.tlsClientCA != ""), zap.Int("gc_percent", gcPercent))
	if ready != nil {
		ready <- lis.Addr()
	}

	select {
	case err := <-serveErr:
		tracked.closeAll()
		g.Stop() // the metrics server's failure leaves the gRPC one serving
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", zap.Duration("timeout", c.shutdownTimeout))
	health.Shutdown() // tells load balancers and clients to go elsewhere
	srv.Drain()       // event streams never end on their own
	stopped := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(stopped)
	}()
	// A call whose write is in the commit under way waits for it even
	// once cancelled. On a disk that stopped answering that commit never
	// ends, and neither would the stop: after a second signal it waits
	// forcedStopGrace at most, as a commit on a sound disk ends well
	// within it.
	forced := force
	var graceOver <-chan time.Time // nil: no second signal yet
	graceFrom := func() { forced, graceOver = nil, time.After(forcedStopGrace) }
	select {
	case <-stopped:
	case <-force:
		logger.Warn("second signal: cancelling calls still running")
		tracked.closeAll() // as well those not begun, which Stop would wait on
		g.Stop()
		graceFrom()
	case <-time.After(c.shutdownTimeout):
		logger.Warn("shutdown timeout: cancelling calls still running")
		tracked.closeAll()
		g.Stop()
	}
	// A call, a sweep's write, or the close's own commit of the writes
	// queued: any may be held by that commit. A second signal that comes
	// while the stop waits for one of them gets the same grace as one that
	// comes while calls run: a sound disk's commit ends within it.
	ended := func(done <-chan struct{}) bool {
		for {
			select {
			case <-done:
				return true
			case <-forced:
				graceFrom()
			case <-graceOver:
				storeStuck = true
				return false
			}
		}
	}
	if ended(stopped) {
		stopMaintain()
		maintainEnded = ended(maintained)
	}
	if !storeStuck {
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			if err := st.Close(); err != nil {
				logger.Error("close store", zap.Error(err))
			}
		}()
		storeClosed = ended(closed)
	}
	if storeStuck {
		// A backup still copying holds the stop as a disk that stopped
		// answering does: the line names both, for the operator to tell.
		logger.Error("stopped with work on the data file not ended (a commit whose disk does not answer, or a backup still copying), and the file not closed: every write acknowledged is on disk")
		return errors.New("stopped with work on the data file not ended")
	}
	logger.Info("stopped")
	return nil
}

// forcedStopGrace is how long a stop forced by a second signal waits, in
// all, for the calls, the sweep and the store's close to end.
const forcedStopGrace = time.Second
