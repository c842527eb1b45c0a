package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// heldSave holds the first call of method (a create) the server is sent
// and runs it once released, whatever its caller does meanwhile: a save the server
// has begun on a slow disk (each commit waiting for its fsync), which
// ends after the command stopped waiting for it. A later create waits
// for the held one, as writes commit in the order they came.
type heldSave struct {
	method  string
	mu      sync.Mutex
	held    chan struct{} // closed to let the held save run
	done    chan struct{} // closed once it has run
	started bool
	ids     []string // each create's request_id, in order
}

func newHeldSave(method string) *heldSave {
	return &heldSave{method: method, held: make(chan struct{}), done: make(chan struct{})}
}

func (h *heldSave) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.held:
	default:
		close(h.held)
	}
}

func (h *heldSave) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		cr, ok := req.(interface{ GetRequestId() string })
		if !ok || info.FullMethod != h.method {
			return next(ctx, req)
		}
		h.mu.Lock()
		h.ids = append(h.ids, cr.GetRequestId())
		first := !h.started
		h.started = true
		h.mu.Unlock()
		if first {
			go func() {
				defer close(h.done)
				<-h.held
				_, _ = next(context.WithoutCancel(ctx), req)
			}()
			<-ctx.Done()
			return nil, ctx.Err()
		}
		h.release()
		<-h.done
		// At a second a commit, the held save's and its own: a caller
		// waiting less hears nothing.
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) < 2*time.Second {
			return nil, status.Error(codes.DeadlineExceeded, "test: two commits outlast the caller's wait")
		}
		return next(ctx, req)
	})
}

// TestNewRequestSavedAfterItsTimeout: on a slow disk a new request whose
// answer did not come within --timeout may still be being saved. The
// command said to look for it with doorstep request find before taking it
// again, and find, run at once, showed nothing (the save not yet ended),
// so the call was taken twice. The command asks again under the same
// request_id, for long enough to hear (past a --timeout shorter than two
// commits), and says the request was saved.
func TestNewRequestSavedAfterItsTimeout(t *testing.T) {
	h := newHeldSave(pb.HelpRequestService_CreateHelpRequest_FullMethodName)
	e := newTestEnvWith(t, h.option())
	t.Cleanup(h.release) // before the server stops, which waits for the held save
	r := e.run("request", "new", "--timeout", "1s", "--postcode", "AB10 1AB", "--street", "union st", "--needs", "grocery_shopping",
		"--when", "tomorrow 10:00-12:00", "--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	if r.code != exitOK || !strings.Contains(r.stdout, "Saved helpRequests/") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the request saved", r.code, r.stdout, r.stderr)
	}
	h.release()
	<-h.done
	if got := e.storedRequests(store.HelpRequestFilter{}); len(got) != 1 {
		t.Errorf("%d requests stored, want 1", len(got))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range h.ids[1:] {
		if id != h.ids[0] {
			t.Errorf("creates sent under request_ids %q, want one", h.ids)
		}
	}
}

// TestVolunteerAddedAfterItsTimeout: volunteer add whose answer did not
// come within --timeout said to try again, and the volunteer, whose
// registration was still being saved, was registered twice, and offered
// jobs under both records. The command asks again, and says they were
// registered.
func TestVolunteerAddedAfterItsTimeout(t *testing.T) {
	h := newHeldSave(pb.VolunteerService_CreateVolunteer_FullMethodName)
	e := newTestEnvWith(t, h.option())
	t.Cleanup(h.release) // before the server stops, which waits for the held save
	r := e.run("volunteer", "add", "--timeout", "1s", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
		"--available", "weekdays 9-17", "--org", org)
	if r.code != exitOK || !strings.Contains(r.stdout, "Registered volunteers/") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the volunteer registered", r.code, r.stdout, r.stderr)
	}
	h.release()
	<-h.done
	if n := e.countVolunteers(); n != 1 {
		t.Errorf("%d volunteers stored, want 1", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range h.ids[1:] {
		if id != h.ids[0] {
			t.Errorf("creates sent under request_ids %q, want one", h.ids)
		}
	}
}

// countVolunteers counts the volunteers stored.
func (e *testEnv) countVolunteers() int {
	e.t.Helper()
	n, token := 0, ""
	for {
		vols, next, err := e.st.ListVolunteers(context.Background(), store.VolunteerFilter{}, store.Page{Size: 100, Token: token})
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(vols)
		if token = next; token == "" {
			return n
		}
	}
}

// TestVolunteerAddWhoseAnswerTimedOut: a registration whose every answer
// came too late is not met with "Try again", which would register the
// volunteer twice, but with where to look first.
func TestVolunteerAddWhoseAnswerTimedOut(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}, as: codes.DeadlineExceeded}
	e := newTestEnvWith(t, lost.option())
	lost.set(pb.VolunteerService_CreateVolunteer_FullMethodName, -1)
	r := e.run("volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--postcode", "AB10 1AB",
		"--available", "weekdays 9-17", "--org", org)
	if r.code != exitUnreachable || !strings.Contains(r.stderr, "look for them with doorstep volunteer find --phone 07700 900456") || strings.Contains(r.stderr, "Try again") {
		t.Errorf("exit %d, stderr %q; want exit %d and where to look, without an invitation to try again", r.code, r.stderr, exitUnreachable)
	}
}
