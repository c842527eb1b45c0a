package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// mapLimitBound stands in for the 2 GiB a 32-bit system maps: a few MiB,
// which a test fills in seconds on any system.
const mapLimitBound = 2 << 20

// serveBounded opens the data file at path bounded at mapLimitBound and
// serves it over bufconn with crashSecret's token, logging at error level
// into the logs it returns.
func serveBounded(t *testing.T, path string) (*store.BoltStore, pb.HelpRequestServiceClient, *observer.ObservedLogs, func()) {
	t.Helper()
	st, err := store.Open(path, store.WithMaxSize(mapLimitBound))
	if err != nil {
		t.Fatal(err)
	}
	tok := &pb.Token{DisplayName: "map limit test", Role: pb.Role_ROLE_COORDINATOR}
	if _, err := st.CreateToken(context.Background(), tok, sha256.Sum256([]byte(crashSecret)), false); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.ErrorLevel)
	srv, err := server.New(st, zap.New(core), server.WithRateLimit(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := server.NewGRPCServer(srv, server.GRPCConfig{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(crashBearer{}))
	if err != nil {
		t.Fatal(err)
	}
	return st, pb.NewHelpRequestServiceClient(conn), logs, func() {
		_ = conn.Close()
		g.Stop()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestWriteAtTheMapLimitSaidPlainly: a 32-bit server whose data file grew
// to the most it can map failed every write, after seconds each, as
// INTERNAL, its log blaming the file system ("truncate: invalid
// argument"). Filled to a bound standing in for it, a write is refused as
// STORAGE_FULL and changes nothing, reads go on, the log says what to do,
// and after a restart a write gets the same answer.
func TestWriteAtTheMapLimitSaidPlainly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorstep.db")
	_, client, logs, stop := serveBounded(t, path)
	ctx := context.Background()
	details := strings.Repeat("Parcel for a family of four, ", 80)[:2000]
	var names []string
	var refused error
	var size int64
	for i := 0; refused == nil; i++ {
		if i == 10000 {
			t.Fatalf("%d creates did not fill a bound of %d bytes", i, mapLimitBound)
		}
		hr := crashRequest(fmt.Sprintf("map-limit-%d", i))
		hr.Details = details
		resp, err := client.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
		if err != nil {
			refused = err
			break
		}
		names = append(names, resp.GetHelpRequest().GetName())
		if size, err = fileSize(path); err != nil {
			t.Fatal(err)
		}
	}
	wantMapLimit(t, "the create that met the bound", refused)
	if len(names) == 0 {
		t.Fatal("the first create met the bound: it bounds nothing a user could do")
	}
	// bbolt grows the file 16 MiB (its AllocSize) past what it holds while
	// its mapping, 1 GiB from the start here, is larger than that; so the
	// file is past this small bound from the first write on, and what is
	// checked is that the refused write did not grow it.
	if now, err := fileSize(path); err != nil || now != size {
		t.Errorf("data file: %v, %d bytes after the refused write, %d before", err, now, size)
	}
	var logged int
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "the most a 32-bit system can map") && strings.Contains(e.Message, "key file") &&
			strings.Contains(e.Message, "64-bit") && e.Level == zapcore.ErrorLevel {
			logged++
		}
		if strings.Contains(e.Message, "A caller") || strings.Contains(e.Message, "01572") {
			t.Errorf("log line holds personal data: %q", e.Message)
		}
	}
	if logged == 0 {
		t.Errorf("no error-level log line says the data file reached what a 32-bit system maps and to move it with its key file to a 64-bit build; logged: %v", logs.All())
	}
	stop()

	st, client, _, stop := serveBounded(t, path)
	defer stop()
	hr := crashRequest("map-limit-after-restart")
	hr.Details = details
	_, err := client.CreateHelpRequest(ctx, &pb.CreateHelpRequestRequest{HelpRequest: hr})
	wantMapLimit(t, "a create after a restart", err)
	// Read from the store itself: a coordinator's read over the API hands
	// out contact details, and so needs its audit record written, which
	// the bound refuses as a full disk does.
	var listed int
	for token := ""; ; {
		found, next, err := st.ListHelpRequests(ctx, store.HelpRequestFilter{}, store.Page{Size: 100, Token: token})
		if err != nil {
			t.Fatalf("list at the bound: %v", err)
		}
		for _, hr := range found {
			if strings.HasPrefix(hr.GetExternalId(), "map-limit-after") {
				t.Errorf("the refused create is stored: %s", hr.GetName())
			}
		}
		listed += len(found)
		if token = next; token == "" {
			break
		}
	}
	if listed != len(names) {
		t.Errorf("listed %d requests at the bound, want the %d acknowledged", listed, len(names))
	}
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// wantMapLimit checks that err says the server's storage is full, as
// RESOURCE_EXHAUSTED with reason STORAGE_FULL, showing nothing of the
// server's insides.
func wantMapLimit(t *testing.T, what string, err error) {
	t.Helper()
	st := status.Convert(err)
	var reason string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if st.Code() != codes.ResourceExhausted || reason != server.ReasonStorageFull {
		t.Fatalf("%s: %v %s %q, want RESOURCE_EXHAUSTED %s", what, st.Code(), reason, st.Message(), server.ReasonStorageFull)
	}
	for _, inside := range []string{"/", "bbolt", "maximum size", ".db", "incident"} {
		if strings.Contains(st.Message(), inside) {
			t.Errorf("%s: the message shows %q: %q", what, inside, st.Message())
		}
	}
}
