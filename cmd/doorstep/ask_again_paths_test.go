package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// scriptedCreates runs each call of method as the server would, then
// answers DEADLINE_EXCEEDED in place of what the server said to the calls
// numbered (from 1) in lost: an answer that came after the command gave
// up. between runs before the second call: what another worker, or the
// person at the keyboard, did while the first answer was awaited.
type scriptedCreates struct {
	method  string
	lost    map[int]bool
	between func()
	mu      sync.Mutex
	ids     []string // each call's request_id, in order
}

func (s *scriptedCreates) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod != s.method {
			return h(ctx, req)
		}
		s.mu.Lock()
		s.ids = append(s.ids, req.(interface{ GetRequestId() string }).GetRequestId())
		n := len(s.ids)
		s.mu.Unlock()
		if n == 2 && s.between != nil {
			s.between()
		}
		resp, err := h(ctx, req)
		if s.lost[n] {
			return nil, status.Error(codes.DeadlineExceeded, "test: the answer came after the command gave up")
		}
		return resp, err
	})
}

// askAgainCommands are request new and volunteer add, each with what
// the tests below need of it.
var askAgainCommands = []struct {
	name, method string
	args         []string // all but --postcode
	saved        string   // what stdout says once saved
	stored       func(e *testEnv) int
}{
	{"request new", pb.HelpRequestService_CreateHelpRequest_FullMethodName,
		[]string{"request", "new", "--street", "union st", "--needs", "grocery_shopping", "--when", "tomorrow 10:00-12:00",
			"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org},
		"Saved helpRequests/", func(e *testEnv) int { return len(e.storedRequests(store.HelpRequestFilter{})) }},
	{"volunteer add", pb.VolunteerService_CreateVolunteer_FullMethodName,
		[]string{"volunteer", "add", "--name", "Aileen Watt", "--phone", "07700 900456", "--available", "weekdays 9-17", "--org", org},
		"Registered volunteers/", func(e *testEnv) int { return e.countVolunteers() }},
}

// TestAskAgainPaths: request new and volunteer add, whose first answer
// came too late, ask once more under the same request_id. Whatever that
// second ask meets, the worker reads what happened in words, stdout stays
// what scripts read, and nothing is stored twice.
func TestAskAgainPaths(t *testing.T) {
	for _, c := range askAgainCommands {
		for _, tc := range []struct {
			name      string
			postcode  string
			lost      map[int]bool
			interrupt bool // Ctrl-C while the second ask is on its way
			json      bool
			code      int
			stderr    string // the last line of stderr holds it
			stored    int
		}{
			// The first was refused, its refusal lost: the second says why.
			{name: "refused", postcode: "AB99 9ZZ", lost: map[int]bool{1: true}, code: exitUsage, stderr: "The postcode AB99 9ZZ is not known", stored: 0},
			{name: "saved", postcode: "AB10 1AB", lost: map[int]bool{1: true}, code: exitOK, stored: 1},
			{name: "saved, json", postcode: "AB10 1AB", lost: map[int]bool{1: true}, json: true, code: exitOK, stored: 1},
			{name: "interrupted", postcode: "AB10 1AB", lost: map[int]bool{1: true}, interrupt: true, code: exitInterrupted, stderr: "Interrupted. The ", stored: 1},
			{name: "both lost", postcode: "AB10 1AB", lost: map[int]bool{1: true, 2: true}, code: exitUnreachable, stderr: "did not answer within 30s. The ", stored: 1},
		} {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				s := &scriptedCreates{method: c.method, lost: tc.lost}
				if tc.interrupt {
					s.between = cancel
				}
				e := newTestEnvWith(t, s.option())
				args := append(append([]string{}, c.args...), "--postcode", tc.postcode)
				if tc.json {
					args = append(args, "--json")
				}
				r := e.runCtx(ctx, "", args...)
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if r.code != tc.code || !strings.Contains(lines[len(lines)-1], tc.stderr) || !strings.HasPrefix(lines[0], "The server did not answer within 30s: asking it again") {
					t.Errorf("exit %d, stderr %q; want exit %d, the second ask said, and %q last", r.code, r.stderr, tc.code, tc.stderr)
				}
				if strings.Contains(r.stderr, "request_id") || strings.Contains(r.stderr, "Try again") {
					t.Errorf("stderr %q: words the worker cannot act on, or an invitation to save twice", r.stderr)
				}
				switch {
				case tc.json:
					var m map[string]any
					if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || m["name"] == nil {
						t.Errorf("stdout %q: want one JSON object, the record (%v)", r.stdout, err)
					}
				case tc.code == exitOK && !strings.HasPrefix(r.stdout, c.saved):
					t.Errorf("stdout %q; want %q first", r.stdout, c.saved)
				case tc.code != exitOK && r.stdout != "":
					t.Errorf("stdout %q; want nothing", r.stdout)
				}
				if n := c.stored(e); n != tc.stored {
					t.Errorf("%d stored, want %d", n, tc.stored)
				}
				s.mu.Lock()
				defer s.mu.Unlock()
				if len(s.ids) != 2 || s.ids[0] == "" || s.ids[1] != s.ids[0] {
					t.Errorf("asked under request_ids %q; want twice under one", s.ids)
				}
			})
		}
	}
}

// TestAskAgainAfterItWasDeleted: a record saved whose answer came too
// late, then deleted by another worker (or, for a volunteer, by an
// erasure of their data) before the second ask, was answered "Not
// possible now: this request_id already created a resource that has since
// been deleted", words the worker on the call cannot act on: request_id is
// the command's own, never shown. They are told it was saved, then
// deleted.
func TestAskAgainAfterItWasDeleted(t *testing.T) {
	for _, c := range askAgainCommands {
		t.Run(c.name, func(t *testing.T) {
			var e *testEnv
			s := &scriptedCreates{method: c.method, lost: map[int]bool{1: true}, between: func() {
				ctx := context.Background()
				hrs := e.storedRequests(store.HelpRequestFilter{})
				vols, _, err := e.st.ListVolunteers(ctx, store.VolunteerFilter{}, store.Page{Size: 10})
				if err != nil || len(hrs)+len(vols) != 1 {
					t.Errorf("%d requests and %d volunteers stored (%v), want the one saved", len(hrs), len(vols), err)
				}
				for _, hr := range hrs {
					err = e.st.DeleteHelpRequest(ctx, idOf(hr.Name), "")
				}
				for _, v := range vols {
					err = e.st.DeleteVolunteer(ctx, idOf(v.Name), "")
				}
				if err != nil {
					t.Error(err)
				}
			}}
			e = newTestEnvWith(t, s.option())
			r := e.run(append(append([]string{}, c.args...), "--postcode", "AB10 1AB")...)
			if r.code != exitFailed || !strings.Contains(r.stderr, "then deleted") || strings.Contains(r.stderr, "request_id") || strings.Contains(r.stderr, "resource") {
				t.Errorf("exit %d, stderr %q; want exit %d, and that it was saved, then deleted", r.code, r.stderr, exitFailed)
			}
		})
	}
}
