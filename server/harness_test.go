package server_test

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

const samplePath = "../testdata/onspd_aberdeen_sample.csv"

// harness is a server over a real bbolt file, reached over bufconn.
type harness struct {
	t     testing.TB
	path  string
	st    *store.BoltStore
	conn  *grpc.ClientConn
	hr    pb.HelpRequestServiceClient
	vol   pb.VolunteerServiceClient
	gz    pb.GazetteerServiceClient
	match pb.MatchingServiceClient
	ev    pb.EventServiceClient
	srv   *server.Server
	opts  []server.Option // extra options for the server, set before serve
	// wrap, when set before serve, stands between the server and the
	// store, for tests that must act at a point inside a store call.
	wrap func(store.Store) store.Store
	// adminSecret is the token the harness's own connection uses.
	adminSecret string
	// dial opens another connection to the server, with extra options.
	dial  func(opts ...grpc.DialOption) *grpc.ClientConn
	clock *testClock
	logs  *observer.ObservedLogs
	stop  func()
	ctx   context.Context
	start time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWithClock(t, nil)
}

// testClock is a clock tests move by hand; it starts at the real time so
// that windows made from time.Now lie ahead.
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

// newHarnessWithClock serves with clock (when not nil) as both the
// server's and the store's clock.
func newHarnessWithClock(t testing.TB, clock *testClock, opts ...server.Option) *harness {
	t.Helper()
	return newHarnessAt(t, filepath.Join(t.TempDir(), "doorstep.db"), clock, opts...)
}

// newHarnessAt is newHarnessWithClock with its data file at path.
func newHarnessAt(t testing.TB, path string, clock *testClock, opts ...server.Option) *harness {
	t.Helper()
	h := &harness{t: t, path: path, ctx: context.Background(), start: time.Now(), clock: clock, opts: opts}
	h.startServing()
	return h
}

// startServing opens h's store, loads the sample gazetteer into it and
// serves it, until the test ends.
func (h *harness) startServing() {
	h.t.Helper()
	st, err := h.open()
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := server.LoadGazetteer(h.ctx, st, samplePath); err != nil {
		h.t.Fatal(err)
	}
	h.serve(st)
	h.t.Cleanup(h.close)
}

func (h *harness) serve(st *store.BoltStore) {
	h.t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	h.st = st
	opts := append([]server.Option(nil), h.opts...)
	if h.clock != nil {
		opts = append(opts, server.WithClock(h.clock.now))
	}
	var through store.Store = st
	if h.wrap != nil {
		through = h.wrap(st)
	}
	srv, err := server.New(through, zap.New(core), opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	g, _ := server.NewGRPCServer(srv, server.GRPCConfig{})
	h.adminSecret = h.newToken(st, &pb.Token{DisplayName: "test admin", Role: pb.Role_ROLE_ADMIN})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	var extra []*grpc.ClientConn
	h.dial = func(opts ...grpc.DialOption) *grpc.ClientConn {
		h.t.Helper()
		conn, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
		if err != nil {
			h.t.Fatal(err)
		}
		extra = append(extra, conn)
		return conn
	}
	conn := h.dial(grpc.WithPerRPCCredentials(bearerToken(h.adminSecret)))
	h.conn = conn
	h.hr = pb.NewHelpRequestServiceClient(conn)
	h.vol = pb.NewVolunteerServiceClient(conn)
	h.gz = pb.NewGazetteerServiceClient(conn)
	h.match = pb.NewMatchingServiceClient(conn)
	h.ev = pb.NewEventServiceClient(conn)
	h.srv = srv
	h.stop = func() {
		for _, c := range extra {
			_ = c.Close()
		}
		g.Stop()
	}
}

func (h *harness) close() {
	if h.stop == nil {
		return
	}
	h.stop()
	h.stop = nil
	if err := h.st.Close(); err != nil {
		h.t.Error(err)
	}
}

func (h *harness) open() (*store.BoltStore, error) {
	if h.clock != nil {
		return store.Open(h.path, store.WithClock(h.clock.now))
	}
	return store.Open(h.path)
}

// reopen closes everything and serves the same file again.
func (h *harness) reopen() {
	h.t.Helper()
	h.close()
	st, err := h.open()
	if err != nil {
		h.t.Fatal(err)
	}
	h.serve(st)
}

// bearerToken sends a token over the harness's plaintext bufconn.
type bearerToken string

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// newToken stores a token straight in the store and returns its secret.
func (h *harness) newToken(st store.Store, t *pb.Token) string {
	h.t.Helper()
	secret, hash, err := server.NewSecret()
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := st.CreateToken(h.ctx, t, hash, false); err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// as opens a connection that calls with secret.
func (h *harness) as(secret string) *grpc.ClientConn {
	h.t.Helper()
	if secret == "" {
		return h.dial()
	}
	return h.dial(grpc.WithPerRPCCredentials(bearerToken(secret)))
}

func ts(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(time.Now().Add(d)) }

func validHelpRequest() *pb.HelpRequest {
	return &pb.HelpRequest{
		Needs:          []pb.Need{pb.Need_NEED_GROCERY_SHOPPING, pb.Need_NEED_PRESCRIPTION_COLLECTION},
		Details:        "Milk, bread and the cat's food; prescription ready at the chemist on Holburn Street",
		RequiredSkills: []string{"Welsh"},
		Timing:         &pb.HelpRequest_Window{Window: &pb.TimeWindow{StartTime: ts(time.Hour), EndTime: ts(5 * time.Hour)}},
		Location:       &pb.Location{Postcode: "ab10 1ab", Street: "union st", AddressLines: []string{"Flat 2", "12 Union Street"}},
		Requester:      &pb.Contact{DisplayName: "Margaret Ironside", Phone: "01224 123456"},
		Vulnerability:  &pb.Vulnerability{LivesAlone: true, NoInternet: true},
		Organisation:   "aberdeen-mutual-aid",
	}
}

func validVolunteer() *pb.Volunteer {
	return &pb.Volunteer{
		Contact:      &pb.Contact{DisplayName: "Callum Reid", Phone: "07700 900123"},
		Home:         &pb.Location{Postcode: "AB10 1AF", Street: "Correction Wynd"},
		TravelMode:   pb.TravelMode_TRAVEL_MODE_CAR,
		Skills:       []string{"driver", "Dog-Friendly"},
		Vetting:      &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: 2028, Month: 3, Day: 31}},
		Availability: &pb.Availability{Weekly: []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{Hours: 10}, EndTime: &pb.TimeOfDay{Hours: 12}}}},
		Capacity:     2,
		Organisation: "aberdeen-mutual-aid",
	}
}

func (h *harness) createHR(hr *pb.HelpRequest) *pb.HelpRequest {
	h.t.Helper()
	resp, err := h.hr.CreateHelpRequest(h.ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
	if err != nil {
		h.t.Fatalf("create help request: %v", err)
	}
	return resp.HelpRequest
}

func (h *harness) createVol(v *pb.Volunteer) *pb.Volunteer {
	h.t.Helper()
	resp, err := h.vol.CreateVolunteer(h.ctx, &pb.CreateVolunteerRequest{Volunteer: v})
	if err != nil {
		h.t.Fatalf("create volunteer: %v", err)
	}
	return resp.Volunteer
}

// countStored counts records straight from the store, not via the API.
func (h *harness) countStored() (requests, volunteers int) {
	h.t.Helper()
	for tok := ""; ; {
		got, next, err := h.st.ListHelpRequests(h.ctx, store.HelpRequestFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			h.t.Fatal(err)
		}
		requests += len(got)
		if tok = next; tok == "" {
			break
		}
	}
	for tok := ""; ; {
		got, next, err := h.st.ListVolunteers(h.ctx, store.VolunteerFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			h.t.Fatal(err)
		}
		volunteers += len(got)
		if tok = next; tok == "" {
			break
		}
	}
	return requests, volunteers
}

// errorOf returns an error's code, ErrorInfo reason and violated fields.
func errorOf(t *testing.T, err error) (codes.Code, string, []string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a status: %v", err)
	}
	var reason string
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.Reason
			if d.Domain != "doorstep.v1" {
				t.Errorf("ErrorInfo domain = %q", d.Domain)
			}
		case *errdetails.BadRequest:
			for _, fv := range d.FieldViolations {
				fields = append(fields, fv.Field)
				if fv.Description == "" {
					t.Errorf("violation of %s has no description", fv.Field)
				}
			}
		}
	}
	if st.Code() != codes.OK && reason == "" {
		t.Errorf("error %v has no ErrorInfo reason", err)
	}
	return st.Code(), reason, fields
}

// partnerConn registers the organisation aberdeen-mutual-aid, and returns
// a connection acting with a partner token of it.
func (h *harness) partnerConn() *grpc.ClientConn {
	h.t.Helper()
	admin := pb.NewAdminServiceClient(h.conn)
	if _, err := admin.CreateOrganisation(h.ctx, &pb.CreateOrganisationRequest{Organisation: &pb.Organisation{
		Name: "organisations/aberdeen-mutual-aid", DisplayName: "Aberdeen Mutual Aid"}}); err != nil {
		h.t.Fatal(err)
	}
	tok, err := admin.CreateToken(h.ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "partner", Role: pb.Role_ROLE_PARTNER, Organisation: "aberdeen-mutual-aid"}})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.as(tok.Secret)
}

// dispatchedByInterval runs the server's background loop, its dispatch
// on an interval of every, until the request named is OFFERED (at most
// 10 s), then stops it, and returns what the loop returned.
func (h *harness) dispatchedByInterval(t *testing.T, name string, every time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.srv.Maintain(ctx, time.Hour, every) }()
	for h.getHR(name).State != pb.HelpRequest_STATE_OFFERED {
		select {
		case <-ctx.Done():
			t.Fatal("the interval's dispatch made no offer within 10s")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	return <-done
}
