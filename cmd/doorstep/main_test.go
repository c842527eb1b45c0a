package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// testStart is a Tuesday morning in March (GMT, so UK time is UTC): the
// clock of the server, the store and the command in every test.
var testStart = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// testClock is fixed unless a test moves it, so that outputs repeat.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is a real server on a bbolt file and loopback TCP, and the
// command run in-process against it.
type testEnv struct {
	t     *testing.T
	addr  string
	path  string // the data file; its key file is path + ".keys"
	st    *store.BoltStore
	clock *testClock
	env   map[string]string

	helpline, coordinator string // token secrets
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t)
}

// newTestEnvWith is newTestEnv with options for the gRPC server, such as
// TLS credentials.
// stopping is a server option under which every call refused picks out is
// answered Unavailable, as by a server restarting between two calls.
func stopping(refused func(req any) bool) grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if refused(req) {
			return nil, status.Error(codes.Unavailable, "server stopping")
		}
		return h(ctx, req)
	})
}

func newTestEnvWith(t *testing.T, opts ...grpc.ServerOption) *testEnv {
	t.Helper()
	return newTestEnvServing(t, nil, opts...)
}

// newTestEnvServing is newTestEnvWith with options for the Doorstep
// server too, such as its backup directory.
func newTestEnvServing(t *testing.T, srvOpts []server.Option, opts ...grpc.ServerOption) *testEnv {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newTestEnvOn(t, lis, srvOpts, opts...)
}

// newTestEnvOn is newTestEnvServing serving on lis, such as one on ::1.
func newTestEnvOn(t *testing.T, lis net.Listener, srvOpts []server.Option, opts ...grpc.ServerOption) *testEnv {
	t.Helper()
	clock := &testClock{t: testStart}
	path := filepath.Join(t.TempDir(), "doorstep.db")
	st, err := store.Open(path, store.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.LoadGazetteer(context.Background(), st, "../../testdata/onspd_aberdeen_sample.csv"); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(st, zap.NewNop(), append([]server.Option{server.WithClock(clock.now)}, srvOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := server.NewGRPCServer(srv, server.GRPCConfig{}, opts...)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(func() {
		g.Stop()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	e := &testEnv{t: t, addr: lis.Addr().String(), path: path, st: st, clock: clock}
	e.helpline = e.newToken(pb.Role_ROLE_HELPLINE)
	e.coordinator = e.newToken(pb.Role_ROLE_COORDINATOR)
	// The helpline's own role, as the people this command is for have.
	e.env = map[string]string{"DOORSTEP_ADDR": e.addr, "DOORSTEP_TOKEN": e.helpline}
	return e
}

// newToken stores a token straight in the store and returns its secret.
func (e *testEnv) newToken(role pb.Role) string {
	e.t.Helper()
	secret, hash, err := server.NewSecret()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateToken(context.Background(), &pb.Token{DisplayName: "test " + role.String(), Role: role}, hash, false); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *testEnv) getenv(name string) string { return e.env[name] }

type result struct {
	stdout, stderr string
	code           int
}

// run runs the command with no terminal and empty stdin.
func (e *testEnv) run(args ...string) result {
	e.t.Helper()
	return e.runCtx(context.Background(), "", args...)
}

func (e *testEnv) runCtx(ctx context.Context, stdin string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code := runAt(ctx, args, e.getenv, strings.NewReader(stdin), &out, &errOut, e.clock.now)
	return result{out.String(), errOut.String(), code}
}

// ok runs a command that must succeed and returns its output.
func (e *testEnv) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("doorstep %s: exit %d, stderr %q, stdout %q", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

var (
	idRE     = regexp.MustCompile(`\b[0-9a-hjkmnp-tv-z]{26}\b`)
	etagRE   = regexp.MustCompile(`"etag": "[0-9]+"`)
	secretRE = regexp.MustCompile(`\bds_[A-Za-z0-9_-]{43}\b`)
)

// normalise replaces ids, which are random, by ID1, ID2... in order of
// first appearance, padded to the same width so that columns stay aligned.
// Etags count the store's revisions, which say nothing about this command;
// token secrets are random.
func normalise(s string) string {
	s = etagRE.ReplaceAllString(s, `"etag": "N"`)
	s = secretRE.ReplaceAllStringFunc(s, func(m string) string { return "ds_" + strings.Repeat("S", len(m)-3) })
	seen := map[string]string{}
	return idRE.ReplaceAllStringFunc(s, func(id string) string {
		if r, ok := seen[id]; ok {
			return r
		}
		r := fmt.Sprintf("ID%d", len(seen)+1)
		r += strings.Repeat("_", 26-len(r))
		seen[id] = r
		return r
	})
}

// golden compares got, normalised, with testdata/name.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalise(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
	}
}

// firstName returns the first "collection/id" in s.
func firstName(t *testing.T, s, collection string) string {
	t.Helper()
	m := regexp.MustCompile(collection + `/[0-9a-z]{26}`).FindString(s)
	if m == "" {
		t.Fatalf("no %s/ID in %q", collection, s)
	}
	return m
}

// storedRequests lists requests straight from the store, not via the API.
func (e *testEnv) storedRequests(f store.HelpRequestFilter) []*pb.HelpRequest {
	e.t.Helper()
	got, _, err := e.st.ListHelpRequests(context.Background(), f, store.Page{Size: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

const org = "aberdeen-mutual-aid"

func (e *testEnv) addVolunteers() (callum, aileen string) {
	e.t.Helper()
	out := e.ok("volunteer", "add", "--name", "Callum Reid", "--phone", "07700 900123", "--postcode", "ab10 1af", "--street", "Correction Wynd",
		"--travel", "car", "--skills", "driver,dog-friendly", "--dbs", "basic", "--dbs-expires", "2028-03-31",
		"--available", "daily 08:00-20:00", "--capacity", "2", "--org", org)
	callum = firstName(e.t, out, "volunteers")
	e.clock.advance(time.Second)
	out = e.ok("volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
		"--available", "weekdays 9-17", "--org", org)
	aileen = firstName(e.t, out, "volunteers")
	e.clock.advance(time.Second)
	return callum, aileen
}

func (e *testEnv) newRequest(extra ...string) string {
	e.t.Helper()
	args := append([]string{"request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--address", "Flat 2; 12 Union Street",
		"--needs", "grocery_shopping,prescription_collection", "--when", "tomorrow 10:00-12:00", "--urgency", "high",
		"--details", "Milk and bread; prescription at the Holburn Street chemist", "--name", "Margaret Ironside",
		"--phone", "01224 123456", "--org", org}, extra...)
	out := e.ok(args...)
	e.clock.advance(time.Second)
	return firstName(e.t, out, "helpRequests")
}
