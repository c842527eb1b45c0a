package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// faultyStore fails, or panics in, the store calls a test names, as a
// damaged file or a bug would.
type faultyStore struct {
	store.Store
	fail bool
}

var errFault = errors.New("store: get help request 01jq3m5x8v2k4c6e9g0h1j2k3m: bucket helpRequests missing")

func (f *faultyStore) GetHelpRequest(ctx context.Context, id string) (*pb.HelpRequest, error) {
	if f.fail {
		return nil, errFault
	}
	return f.Store.GetHelpRequest(ctx, id)
}

func (f *faultyStore) OldestEventRevision() (uint64, error) {
	if f.fail {
		return 0, errFault
	}
	return f.Store.OldestEventRevision()
}

func (f *faultyStore) GetVolunteer(ctx context.Context, id string) (*pb.Volunteer, error) {
	if f.fail {
		panic("index out of range [3] with length 3")
	}
	return f.Store.GetVolunteer(ctx, id)
}

// TestInternalErrorIsOneLineTheCallerCanQuote: at 2am a coordinator rings
// the operator: "it says the server failed". The operator must find that
// failure in the log, and only it: each call that fails with INTERNAL
// (a fault of the store's, or a panic) leaves one error-level line naming
// the method, the code, the cause and an incident id, and the caller's
// error carries the same id, in its ErrorInfo and in its words, to quote.
// Two lines per failure, as there were, sampled apart under a storm of
// them, could not be tied together, and the caller had nothing to quote.
func TestInternalErrorIsOneLineTheCallerCanQuote(t *testing.T) {
	h := newHarness(t)
	hr := h.createHR(validHelpRequest())
	vol := h.createVol(validVolunteer())
	f := &faultyStore{}
	h.wrap = func(st store.Store) store.Store { f.Store = st; return f }
	h.reopen()
	f.fail = true

	for _, tc := range []struct {
		name, method string
		call         func() error
	}{
		{"a store fault", "/doorstep.v1.HelpRequestService/GetHelpRequest", func() error {
			_, err := h.hr.GetHelpRequest(h.ctx, &pb.GetHelpRequestRequest{Name: hr.Name})
			return err
		}},
		{"a store fault in a stream", "/doorstep.v1.EventService/WatchEvents", func() error {
			stream, err := h.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}},
		{"a panic", "/doorstep.v1.VolunteerService/GetVolunteer", func() error {
			_, err := h.vol.GetVolunteer(h.ctx, &pb.GetVolunteerRequest{Name: vol.Name})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.logs.TakeAll()
			err := tc.call()
			st := status.Convert(err)
			if st.Code() != codes.Internal {
				t.Fatalf("got %v, want INTERNAL", err)
			}
			var incident string
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok {
					incident = info.GetMetadata()["incident"]
				}
			}
			if incident == "" {
				t.Errorf("the caller's error carries no incident id to quote: %v", err)
			} else if !strings.Contains(st.Message(), incident) {
				t.Errorf("the caller's message %q does not say the incident id %s", st.Message(), incident)
			}
			for _, inside := range []string{"bucket", "store:", "index out of range", "01jq3m5x8v2k4c6e9g0h1j2k3m"} {
				if strings.Contains(st.Message(), inside) {
					t.Errorf("the caller's message shows the server's insides (%q): %q", inside, st.Message())
				}
			}

			var lines []string
			var found bool
			for _, e := range h.logs.All() {
				if e.Level < zapcore.ErrorLevel {
					continue
				}
				m := e.ContextMap()
				lines = append(lines, e.Message+" "+fmt.Sprint(m))
				found = found || incident != "" && m["incident"] == incident && m["method"] == tc.method && m["code"] == "Internal" &&
					(m["error"] != nil || m["panic"] != nil)
			}
			if len(lines) != 1 {
				t.Errorf("%d error-level log lines for one failed call, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			if !found {
				t.Errorf("no error-level log line names the method %s, the code, the cause and the incident %q:\n%s", tc.method, incident, strings.Join(lines, "\n"))
			}
		})
	}
}
