package client_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

const samplePath = "../testdata/onspd_aberdeen_sample.csv"

// testServer is a real Doorstep server over a bbolt file, reached over
// bufconn. It can be stopped and started again on the same file, as a
// server restart would.
type testServer struct {
	path string
	opts []grpc.ServerOption
	// token is an admin token's secret, which dial sends unless told
	// otherwise: every call but health needs one.
	token string
	// serverOpts configure the server (its rate limit) at every start.
	serverOpts []server.Option

	mu  sync.Mutex
	lis *bufconn.Listener
	st  *store.BoltStore
	g   *grpc.Server
	srv *server.Server
}

// startServer serves a new data file in dir, with the sample gazetteer
// loaded, and with opts (interceptors that inject failures) in its gRPC
// server.
func startServer(dir string, opts ...grpc.ServerOption) (*testServer, error) {
	s := &testServer{path: filepath.Join(dir, "doorstep.db"), opts: opts}
	st, err := store.Open(s.path)
	if err != nil {
		return nil, err
	}
	if _, err := server.LoadGazetteer(context.Background(), st, samplePath); err != nil {
		_ = st.Close()
		return nil, err
	}
	if s.token, err = s.addToken(st, "", pb.Role_ROLE_ADMIN); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := s.serve(st); err != nil {
		_ = st.Close()
		return nil, err
	}
	return s, nil
}

// addToken stores a token with the given secret (a new one when empty)
// and returns the secret.
func (s *testServer) addToken(st *store.BoltStore, secret string, role pb.Role) (string, error) {
	hash := sha256.Sum256([]byte(secret))
	if secret == "" {
		var err error
		if secret, hash, err = server.NewSecret(); err != nil {
			return "", err
		}
	}
	_, err := st.CreateToken(context.Background(), &pb.Token{DisplayName: "test " + role.String(), Role: role}, hash, false)
	return secret, err
}

func (s *testServer) serve(st *store.BoltStore) error {
	srv, err := server.New(st, zap.NewNop(), s.serverOpts...)
	if err != nil {
		return err
	}
	g, _ := server.NewGRPCServer(srv, server.GRPCConfig{}, s.opts...)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	s.mu.Lock()
	s.st, s.g, s.lis, s.srv = st, g, lis, srv
	s.mu.Unlock()
	return nil
}

// stop ends every call and stream at once and closes the data file.
func (s *testServer) stop() error {
	s.mu.Lock()
	g, st := s.g, s.st
	s.g, s.st = nil, nil
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	g.Stop()
	return st.Close()
}

// restart stops the server and serves the same data file again.
func (s *testServer) restart() error {
	if err := s.stop(); err != nil {
		return err
	}
	st, err := store.Open(s.path)
	if err != nil {
		return err
	}
	return s.serve(st)
}

// dialOption reaches whichever listener is current, so that a client
// outlives a restart. While the server is stopped, dials fail and calls
// see UNAVAILABLE.
func (s *testServer) dialOption() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		s.mu.Lock()
		lis, up := s.lis, s.g != nil
		s.mu.Unlock()
		if !up {
			return nil, errors.New("test server is stopped")
		}
		return lis.DialContext(ctx)
	})
}

// fastReconnect makes gRPC redial within milliseconds after a restart,
// where by default it waits a second or more.
var fastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.5, MaxDelay: 50 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

// dial connects a client to s the way an integration would, plus opts.
func (s *testServer) dial(opts ...client.Option) (*client.Client, error) {
	opts = append([]client.Option{client.WithInsecure(), client.WithToken(s.token), client.WithDialOptions(s.dialOption(), fastReconnect)}, opts...)
	return client.Dial(context.Background(), "passthrough:///bufnet", opts...)
}

// newTestServer starts a server in a temporary directory for t.
func newTestServer(t *testing.T, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	s, err := startServer(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// client dials s for t with the given options and fast retries.
func (s *testServer) client(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithRetry(4, time.Millisecond)}, opts...)
	c, err := s.dial(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// countStored counts the help requests in the data file, not through the
// API under test.
func (s *testServer) countStored(t *testing.T) int {
	t.Helper()
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	n := 0
	for tok := ""; ; {
		got, next, err := st.ListHelpRequests(context.Background(), store.HelpRequestFilter{}, store.Page{Size: 1000, Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		n += len(got)
		if tok = next; tok == "" {
			return n
		}
	}
}

// helpRequest is a valid request in Aberdeen for organisation org with the
// partner id externalID ("" for none).
func helpRequest(org, externalID string) *pb.HelpRequest {
	return &pb.HelpRequest{
		Needs:        []pb.Need{pb.Need_NEED_FOOD_PARCEL},
		Details:      "Weekly parcel; leave with the neighbour at number 14 if out",
		Timing:       &pb.HelpRequest_Deadline{Deadline: timestamppb.New(time.Now().Add(48 * time.Hour))},
		Location:     &pb.Location{Postcode: "AB10 1AB", Street: "Union Street"},
		Requester:    &pb.Contact{DisplayName: "Margaret", Phone: "01224 123456"},
		Organisation: org,
		ExternalId:   externalID,
	}
}

func volunteer(org string) *pb.Volunteer {
	return &pb.Volunteer{
		Contact:      &pb.Contact{DisplayName: "Callum", Phone: "07700 900123"},
		Home:         &pb.Location{Postcode: "AB10 1AF"},
		TravelMode:   pb.TravelMode_TRAVEL_MODE_CAR,
		Skills:       []string{"driver"},
		Vetting:      &pb.Vetting{Level: pb.Vetting_DBS_LEVEL_ENHANCED, ExpireDate: &pb.Date{Year: int32(time.Now().Year() + 2), Month: 3, Day: 31}},
		Availability: &pb.Availability{Weekly: []*pb.AvailabilitySlot{{Day: pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, StartTime: &pb.TimeOfDay{Hours: 10}, EndTime: &pb.TimeOfDay{Hours: 12}}}},
		Capacity:     2,
		Organisation: org,
	}
}

// freeVolunteer is volunteer(org) free all day every day, so that any
// request in reach can be offered to them whenever it falls.
func freeVolunteer(org string) *pb.Volunteer {
	v := volunteer(org)
	v.Availability.Weekly = nil
	for d := pb.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= pb.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		v.Availability.Weekly = append(v.Availability.Weekly, &pb.AvailabilitySlot{Day: d, StartTime: &pb.TimeOfDay{}, EndTime: &pb.TimeOfDay{Hours: 24}})
	}
	return v
}

// requestIDs records the request_id of every create that reaches the
// server.
type requestIDs struct {
	mu  sync.Mutex
	ids []string
}

func (r *requestIDs) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		r.mu.Lock()
		switch req := req.(type) {
		case *pb.CreateHelpRequestRequest:
			r.ids = append(r.ids, req.RequestId)
		case *pb.CreateVolunteerRequest:
			r.ids = append(r.ids, req.RequestId)
		}
		r.mu.Unlock()
		return h(ctx, req)
	})
}

func (r *requestIDs) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}
