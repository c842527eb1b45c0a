package main

import (
	"cmp"
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

// lostReplies runs calls of a method on the server, then answers
// UNAVAILABLE in place of the reply, as a connection that drops after the
// server has saved: the first lose[method] calls, or every call when -1.
type lostReplies struct {
	mu   sync.Mutex
	lose map[string]int
	// before runs once, before the next call of its method: another
	// person's change landing between the command's read and its write.
	before map[string]func()
	// as is how a reply is lost: UNAVAILABLE (a connection gone) unless
	// set, or DEADLINE_EXCEEDED (the command gave up waiting).
	as codes.Code
}

func (l *lostReplies) option() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		l.mu.Lock()
		before := l.before[info.FullMethod]
		delete(l.before, info.FullMethod)
		l.mu.Unlock()
		if before != nil {
			before()
		}
		resp, err := h(ctx, req)
		l.mu.Lock()
		n := l.lose[info.FullMethod]
		if n > 0 {
			l.lose[info.FullMethod]--
		}
		l.mu.Unlock()
		if n != 0 {
			return nil, status.Error(cmp.Or(l.as, codes.Unavailable), "test: reply lost")
		}
		return resp, err
	})
}

func (l *lostReplies) set(method string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lose[method] = n
}

// TestEditWhoseReplyWasLost: an edit saved, whose answer was lost, is sent
// again by the client with the same etag, which is stale by then: the
// change is the helpline's own, saved once, and is reported as made, not
// as someone else's change.
func TestEditWhoseReplyWasLost(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	for _, tc := range []struct {
		name, method string
		args         []string
		want         string
	}{
		{"request details", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			[]string{"request", "edit", req, "--details", "Milk, bread and eggs"}, "Changed " + req},
		{"request urgency and needs", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			[]string{"request", "edit", req, "--urgency", "critical", "--needs", "grocery_shopping"}, "Changed " + req},
		{"request time", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			[]string{"request", "edit", req, "--when", "tomorrow 14:00-16:00"}, "Changed " + req},
		{"volunteer capacity", pb.VolunteerService_UpdateVolunteer_FullMethodName,
			[]string{"volunteer", "edit", callum, "--capacity", "3"}, "Changed " + callum},
		{"volunteer availability", pb.VolunteerService_UpdateVolunteer_FullMethodName,
			[]string{"volunteer", "edit", callum, "--available", "weekdays 9-17"}, "Changed " + callum},
		// A phone number or street the server stores in another form than
		// typed ("07700 900456" as +447700900456, "king st" as King
		// Street): the edit sends them as stored, so that they read as sent.
		{"request phone", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			[]string{"request", "edit", req, "--phone", "07700 900456"}, "Changed " + req},
		{"request street", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			[]string{"request", "edit", req, "--street", "king st"}, "Changed " + req},
		{"volunteer phone", pb.VolunteerService_UpdateVolunteer_FullMethodName,
			[]string{"volunteer", "edit", callum, "--phone", "07700 900777"}, "Changed " + callum},
		{"volunteer move", pb.VolunteerService_UpdateVolunteer_FullMethodName,
			[]string{"volunteer", "edit", callum, "--postcode", "AB10 1AB", "--street", "UNION ST"}, "Changed " + callum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lost.set(tc.method, 1)
			r := e.run(tc.args...)
			if r.code != exitOK || !strings.Contains(r.stdout, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
			e.clock.advance(1e9)
		})
	}
}

// TestEditRacingAnotherStillRefused: the refusal stands when the field
// reads otherwise than the edit sent: someone else did change it first.
func TestEditRacingAnotherStillRefused(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	req := e.newRequest()
	lost.before[pb.HelpRequestService_UpdateHelpRequest_FullMethodName] = func() {
		hr, err := e.st.GetHelpRequest(context.Background(), idOf(req))
		if err != nil {
			t.Error(err)
			return
		}
		hr.Details = "Only milk: the neighbour brought bread"
		if _, err := e.st.UpdateHelpRequest(context.Background(), hr); err != nil {
			t.Error(err)
		}
	}
	r := e.run("request", "edit", req, "--details", "Milk, bread and eggs")
	if r.code != exitFailed || !strings.Contains(r.stderr, "Nothing was changed: someone else changed "+req) {
		t.Errorf("exit %d, stdout %q, stderr %q; want the change refused as someone else's", r.code, r.stdout, r.stderr)
	}
}

// TestNewRequestWhoseEveryReplyWasLost: a request saved while every answer
// to it was lost (the client's retries too, which find the request saved
// and answer it, into the same broken connection) was reported only as
// the server being out of reach, which has the worker take the call again
// and save it twice: the worker is told it may be saved and how to look
// for it.
func TestNewRequestWhoseEveryReplyWasLost(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	lost.set(pb.HelpRequestService_CreateHelpRequest_FullMethodName, -1)
	r := e.run("request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--needs", "grocery_shopping",
		"--when", "tomorrow 10:00-12:00", "--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	if got := len(e.storedRequests(store.HelpRequestFilter{})); got != 1 {
		t.Fatalf("%d requests stored, want the 1 whose answers were lost", got)
	}
	want := "look for it with doorstep request find --phone 01224 123456"
	if r.code != exitUnreachable || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, exitUnreachable, want)
	}
	lost.set(pb.HelpRequestService_CreateHelpRequest_FullMethodName, 0)
	if out := e.ok("request", "find", "--phone", "01224 123456"); !strings.Contains(out, "Margaret Ironside") {
		t.Errorf("request find shows %q, want the request saved", out)
	}
}

// TestEraseWhoseReplyWasLost: an erasure done, whose answer was lost, is
// not reported as there being nothing held about the person, which the
// admin would pass on to them as their answer; they are told the erasure
// may have been done.
func TestEraseWhoseReplyWasLost(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	req := e.newRequest()
	e.asAdmin()
	lost.set(pb.AdminService_ErasePersonalData_FullMethodName, 1)
	r := e.run("admin", "erase", "--phone", "01224 123456", "--yes")
	if got := e.storedRequests(store.HelpRequestFilter{}); len(got) != 1 || got[0].GetRequester().GetPhone() != "" {
		t.Fatalf("after the erasure the store holds %v, want the request without its caller's phone", got)
	}
	if strings.Contains(r.stdout, "Nothing is held") || !strings.Contains(r.stderr, "may have been done") {
		t.Errorf("exit %d, stdout %q, stderr %q; want to be told the erasure may have been done", r.code, r.stdout, r.stderr)
	}
	// Where the answer points, the erasure shows.
	if out := e.ok("admin", "audit", "--action", "erase"); !strings.Contains(out, idOf(req)) {
		t.Errorf("admin audit --action erase:\n%s\nwant the request erased", out)
	}
}

// TestNewRequestWhoseAnswerTimedOut: a request saved whose answer came too
// late is not met with "Try again" beside "it may have been saved": trying
// again would save it twice.
func TestNewRequestWhoseAnswerTimedOut(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}, as: codes.DeadlineExceeded}
	e := newTestEnvWith(t, lost.option())
	lost.set(pb.HelpRequestService_CreateHelpRequest_FullMethodName, -1)
	r := e.run("request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--needs", "grocery_shopping",
		"--when", "tomorrow 10:00-12:00", "--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	if !strings.Contains(r.stderr, "did not answer within") || !strings.Contains(r.stderr, "look for it with doorstep request find --phone") {
		t.Fatalf("exit %d, stderr %q; want the timeout and where to look", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "Try again") {
		t.Errorf("stderr %q invites a second request", r.stderr)
	}
}

// TestNewRequestInterruptedOnItsWay: a Ctrl-C while the request was on
// its way may come after the server saved it; the worker is told to look
// for it before taking the call again.
func TestNewRequestInterruptedOnItsWay(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lost.mu.Lock()
	lost.before[pb.HelpRequestService_CreateHelpRequest_FullMethodName] = cancel
	lost.mu.Unlock()
	r := e.runCtx(ctx, "", "request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--needs", "grocery_shopping",
		"--when", "tomorrow 10:00-12:00", "--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	if r.code != exitInterrupted || !strings.Contains(r.stderr, "look for it with doorstep request find --phone 01224 123456") {
		t.Errorf("exit %d, stderr %q; want exit %d and where to look", r.code, r.stderr, exitInterrupted)
	}
}

// TestTokenCreateWhoseReplyWasLost: a token made whose answer (and so its
// secret) was lost is not met with "cannot reach" alone, or the admin
// makes another and leaves the first live; they are told to look first.
func TestTokenCreateWhoseReplyWasLost(t *testing.T) {
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	e.asAdmin()
	lost.set(pb.AdminService_CreateToken_FullMethodName, -1)
	r := e.run("admin", "token", "create", "--role", "helpline", "--name", "Helpline desk 3")
	if r.code != exitUnreachable || !strings.Contains(r.stderr, "may have been made all the same") || strings.Contains(r.stderr, "Try again") {
		t.Fatalf("exit %d, stderr %q; want exit %d, and to look before making another", r.code, r.stderr, exitUnreachable)
	}
	lost.set(pb.AdminService_CreateToken_FullMethodName, 0)
	if out := e.ok("admin", "token", "list"); !strings.Contains(out, "Helpline desk 3") {
		t.Errorf("admin token list:\n%s\nwant the token made", out)
	}
}

// TestEraseWaitsForItsKeyRotation: an erasure ends with a rotation of the
// master key, about 20 s at a million records, past the usual wait on a
// busy server; it waits longer than other commands unless --timeout says
// otherwise.
func TestEraseWaitsForItsKeyRotation(t *testing.T) {
	defer func(d time.Duration) { defaultTimeout = d }(defaultTimeout)
	defaultTimeout = 300 * time.Millisecond
	slow := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, slow.option())
	e.newRequest()
	e.asAdmin()
	rotation := func() {
		slow.mu.Lock()
		slow.before[pb.AdminService_ErasePersonalData_FullMethodName] = func() { time.Sleep(time.Second) }
		slow.mu.Unlock()
	}
	rotation()
	if r := e.run("admin", "erase", "--phone", "01224 123456", "--yes", "--timeout", "300ms"); r.code != exitUnreachable || !strings.Contains(r.stderr, "did not answer within 300ms") {
		t.Errorf("erase with --timeout 300ms: exit %d, stderr %q; want the timeout kept to", r.code, r.stderr)
	}
	e.newRequest()
	rotation()
	if r := e.run("admin", "erase", "--phone", "01224 123456", "--yes"); r.code != exitOK {
		t.Errorf("erase with no --timeout: exit %d, stderr %q; want it to wait for the answer", r.code, r.stderr)
	}
}
