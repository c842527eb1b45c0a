package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// syncBuffer is written by the watch while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchUntil runs doorstep watch until its output has n lines, then stops
// it as Ctrl-C would, and returns the lines and the exit code. On stderr
// it may say only where it stopped.
func (e *testEnv) watchUntil(n int, args ...string) ([]string, int) {
	e.t.Helper()
	lines, code, stderr := e.watchUntilStderr(n, args...)
	if rest := stoppedRE.ReplaceAllString(stderr, ""); rest != "" {
		e.t.Errorf("watch stderr = %q", stderr)
	}
	return lines, code
}

var stoppedRE = regexp.MustCompile(`(?m)^Stopped after revision [0-9]+: to carry on from here, doorstep watch --from [0-9]+( with the same --type and --org)?\.\n`)

// watchUntilStderr is watchUntil, returning stderr too.
func (e *testEnv) watchUntilStderr(n int, args ...string) ([]string, int, string) {
	e.t.Helper()
	// Watching is for coordinators, not the helpline role.
	saved := e.env["DOORSTEP_TOKEN"]
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	defer func() { e.env["DOORSTEP_TOKEN"] = saved }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAt(ctx, append([]string{"watch"}, args...), e.getenv, strings.NewReader(""), &out, &errOut, e.clock.now)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(out.String(), "\n") < n {
		select {
		case code := <-done:
			e.t.Fatalf("watch ended early with exit %d: %s%s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("watch printed only:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	code := <-done
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), code, errOut.String()
}

// TestWatch prints one line per event from a revision on, filters by
// type, and ends cleanly on Ctrl-C.
func TestWatch(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.ok("offer", "decline", offer)

	lines, code := e.watchUntil(7, "--from", "1")
	if code != 0 {
		t.Errorf("watch exit %d after Ctrl-C, want 0", code)
	}
	want := []string{"volunteer created", "volunteer created", "help request created", "offer created", "help request state changed", "offer declined", "help request state changed"}
	for i, w := range want {
		if i >= len(lines) || !strings.Contains(lines[i], w) {
			t.Fatalf("line %d of the watch is not %q:\n%s", i+1, w, strings.Join(lines, "\n"))
		}
	}
	if !strings.Contains(lines[2], req) || !strings.Contains(lines[2], "now open") || !strings.Contains(lines[2], "["+org+"]") {
		t.Errorf("request created line = %q", lines[2])
	}
	if !strings.Contains(lines[3], offer) || !strings.Contains(lines[3], callum) {
		t.Errorf("offer created line = %q", lines[3])
	}
	if !strings.Contains(lines[4], "open -> offered") || !strings.Contains(lines[6], "offered -> open") {
		t.Errorf("state lines = %q, %q", lines[4], lines[6])
	}

	only, _ := e.watchUntil(1, "--from", "1", "--type", "offer_declined", "--json")
	if len(only) != 1 || !strings.Contains(only[0], `"type":"TYPE_OFFER_DECLINED"`) || !strings.Contains(only[0], offer) {
		t.Errorf("filtered --json watch = %q", only)
	}

	r := e.run("watch", "--type", "offer_exploded")
	if r.code != exitUsage || !strings.HasPrefix(r.stderr, `--type: "offer_exploded" is not an event type`) {
		t.Errorf("bad --type: exit %d, %q", r.code, r.stderr)
	}
}

// TestWatchLinesHaveDates: each line's time has its date, as elsewhere.
func TestWatchLinesHaveDates(t *testing.T) {
	e := newTestEnv(t)
	e.newRequest()
	lines, _ := e.watchUntil(1, "--from", "1")
	if !regexp.MustCompile(`^1 +Tue 10 Mar 09:00:00  help request created `).MatchString(lines[0]) {
		t.Errorf("watch line = %q, want the date and time", lines[0])
	}
}

// TestWatchUnreachable: a watch that cannot connect at the start says so
// and ends, rather than waiting in silence.
func TestWatchUnreachable(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_ADDR"] = "127.0.0.1:1"
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := e.runCtx(ctx, "", "watch")
	if ctx.Err() != nil {
		t.Fatal("watch of an unreachable server did not end")
	}
	checkFailure(t, r, true, exitUnreachable, "Cannot reach the Doorstep server at 127.0.0.1:1. *")
}

// cutProxy forwards TCP connections to a server and can cut them all, as
// a network fault or a server restart would.
type cutProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	target string
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestWatchReconnects: once connected, a broken stream is said on stderr
// while it is repaired, and nothing is missed or repeated.
func TestWatchReconnects(t *testing.T) {
	e := newTestEnv(t)
	p := newCutProxy(t, e.addr)
	e.env["DOORSTEP_ADDR"] = p.ln.Addr().String()
	first := e.newRequest()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	env := map[string]string{"DOORSTEP_ADDR": e.env["DOORSTEP_ADDR"], "DOORSTEP_TOKEN": e.coordinator}
	go func() {
		done <- runAt(ctx, []string{"watch", "--from", "1"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut, e.clock.now)
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			select {
			case code := <-done:
				t.Fatalf("watch ended with exit %d waiting for %s: %s%s", code, what, out.String(), errOut.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s: stdout %q, stderr %q", what, out.String(), errOut.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("first event", func() bool { return strings.Contains(out.String(), first) })
	p.cut()
	waitFor("reconnecting", func() bool { return strings.Contains(errOut.String(), "reconnecting…") })
	second := e.newRequest()
	waitFor("second event", func() bool { return strings.Contains(out.String(), second) })
	waitFor("reconnected", func() bool { return strings.Contains(errOut.String(), "Reconnected") })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exit %d after Ctrl-C, want 0", code)
	}
	if got, want := stoppedRE.ReplaceAllString(errOut.String(), ""), "Lost the connection to the server: reconnecting…\nReconnected: no events were missed.\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], first) || !strings.Contains(lines[1], second) {
		t.Errorf("watch across the cut printed:\n%s\nwant each request's creation once", out.String())
	}
}

// TestWatchSaysWhoseOfferNotWhoActed: an offer the dispatcher made is
// marked so on each of its events, but "offer accepted ... (dispatcher)"
// reads as if the dispatcher accepted it, when the volunteer did; and a
// coordinator who paused a volunteer read that the dispatcher withdrew the
// offer. The mark says whose offer it is.
func TestWatchSaysWhoseOfferNotWhoActed(t *testing.T) {
	e := newTestEnv(t)
	e.addVolunteers()
	e.newRequest()
	e.ok("dispatch", "--token="+e.coordinator)
	offer := idRE.FindString(e.ok("offer", "list", "--state", "pending"))
	e.ok("offer", "accept", offer)
	lines, _ := e.watchUntil(2, "--from", "1", "--type", "offer_created,offer_accepted")
	var created, accepted string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "offer created"):
			created = l
		case strings.Contains(l, "offer accepted"):
			accepted = l
		}
	}
	for _, l := range []string{created, accepted} {
		if !strings.Contains(l, "(dispatcher's offer)") || strings.Contains(l, "(dispatcher)") {
			t.Errorf("watch line %q: want the offer marked (dispatcher's offer), not (dispatcher)", l)
		}
	}
}

// TestWatchSaysWhyAnotherGroupsRequestShows: a watch of --org hears of its
// volunteers offered another group's requests; the line named only the
// request's group, so it read as a stray.
func TestWatchSaysWhyAnotherGroupsRequestShows(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, now: func() time.Time { return testStart }}
	err := a.printEvent(&pb.Event{Revision: 7, Type: pb.Event_TYPE_OFFER_CREATED, Time: timestamppb.New(testStart),
		Organisation: "aberdeen-mutual-aid", VolunteerOrganisation: "ferryhill-helpers",
		HelpRequest: "helpRequests/r1", Volunteer: "volunteers/v1", Offer: "offers/o1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "[aberdeen-mutual-aid; volunteer of ferryhill-helpers]") {
		t.Errorf("line %q", got)
	}
}

// TestWatchFromRevisionNotKept: an operator who carries on a watch with
// --from after the server let those events go (a week on, its
// --event-retention) or after its data was restored from an older copy
// was told to "reload with List calls and watch from oldest_revision",
// words for apps; the command now names the --from to give.
func TestWatchFromRevisionNotKept(t *testing.T) {
	for _, tc := range []struct {
		name, from, reason string
		compact            bool
	}{
		{"compacted", "1", "EVENTS_COMPACTED", true},
		{"ahead", "1000", "REVISION_AHEAD", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.newRequest()
			e.newRequest()
			if tc.compact {
				if _, err := e.st.CompactEvents(context.Background(), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			// Where the server is, not where its log starts: see
			// TestWatchFromRevisionNotKeptAdviceOutlastsASweep.
			cur, _ := e.st.Changes()
			e.env["DOORSTEP_TOKEN"] = e.coordinator
			r := e.run("watch", "--from", tc.from)
			if r.code != exitUsage {
				t.Errorf("watch --from %s: exit %d, want %d", tc.from, r.code, exitUsage)
			}
			if want := fmt.Sprintf("--from %d", cur+1); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, tc.reason) {
				t.Errorf("watch --from %s: stderr %q, want it to name %q and %s", tc.from, r.stderr, want, tc.reason)
			}
			if strings.Contains(r.stderr, "List calls") || strings.Contains(r.stderr, "oldest_revision") {
				t.Errorf("watch --from %s: stderr %q speaks the API's words, not the command's", tc.from, r.stderr)
			}
		})
	}
}

// TestWatchFromRevisionNotKeptAdviceOutlastsASweep: an operator told the
// events from their --from are no longer kept looks up what changed with
// doorstep request list, as told, and then watches with the --from the
// message named. The log's start moves on at every sweep (every 15 s) on
// a busy group's server: a --from naming where the log started when the
// message was written was compacted too by then, and the watch was
// refused again. The --from named carries on from the server's revision
// when it said so, which the log keeps for its whole retention.
func TestWatchFromRevisionNotKeptAdviceOutlastsASweep(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.newRequest() // a day ago, compacted
	e.clock.advance(time.Hour)
	e.newRequest() // in the log when the operator comes back
	if _, err := e.st.CompactEvents(ctx, e.clock.now().Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	r := e.run("watch", "--from", "1")
	if r.code != exitUsage {
		t.Fatalf("watch --from 1: exit %d, %s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`--from ([0-9]+)`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("watch --from 1: stderr %q names no --from", r.stderr)
	}
	// The operator looks up what changed; the group goes on, and the
	// server's sweep lets go of what it had when the message was written.
	e.clock.advance(time.Hour)
	later := e.newRequest()
	if _, err := e.st.CompactEvents(ctx, e.clock.now().Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	lines, code, stderr := e.watchUntilStderr(1, "--from", m[1])
	if code != 0 || !strings.Contains(lines[0], "help request created") || !strings.Contains(lines[0], later) {
		t.Errorf("watch --from %s, as told: exit %d, lines %q, stderr %q; want the request made since first", m[1], code, lines, stderr)
	}
}
