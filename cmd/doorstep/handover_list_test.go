package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// TestRequestListAtHandover: the afternoon coordinator taking over a
// shift lists what is still in hand with plain "request list" (a critical
// request offered to a volunteer who has not answered among it), narrows
// it by urgency, and sees which assigned jobs are past their time, to
// ring their volunteers; table, --linear and --json agree.
func TestRequestListAtHandover(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	// Assigned, its window over by the handover, a day before.
	yesterday := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", yesterday, callum), "offers"))
	// Assigned, its deadline over by the handover, that morning.
	morning := e.newRequest("--urgency", "normal", "--when", "thu by 08:30", "--phone", "01224 123457", "--name", "Ian Duthie")
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", morning, callum), "offers"))
	// Cancelled: closed, not in hand.
	e.ok("request", "cancel", e.newRequest("--urgency", "critical", "--phone", "01224 123458", "--name", "Ann Gray"))

	e.clock.advance(48 * time.Hour) // Thu 12 Mar 09:00
	critical := e.newRequest("--urgency", "critical", "--phone", "01224 123459", "--name", "Jean Milne")
	e.ok("offer", "make", critical, aileen)
	e.newRequest("--urgency", "low", "--when", "tomorrow 15:00-17:00", "--phone", "01224 123460", "--name", "Bill Low")

	var transcript strings.Builder
	say := func(args ...string) string {
		t.Helper()
		out := e.ok(args...)
		transcript.WriteString("$ doorstep " + strings.Join(args, " ") + "\n" + out + "\n")
		return out
	}
	all := say("request", "list")
	for _, want := range []string{"assigned, ended Wed 11 Mar 12:00", "assigned, ended 08:30", "offered", "critical"} {
		if !strings.Contains(all, want) {
			t.Errorf("request list does not say %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "cancelled") {
		t.Errorf("request list shows a cancelled request as in hand:\n%s", all)
	}
	say("request", "list", "--urgency", "high")
	say("request", "list", "--urgency", "critical", "--linear")
	say("request", "list", "--state", "assigned", "--near", "AB10 1AB", "--linear")
	say("request", "list", "--state", "open,cancelled", "--urgency", "critical")
	say("request", "list", "--state", "expired", "--urgency", "high")
	show := say("request", "show", yesterday)
	if !strings.Contains(show, "assigned, ended Wed 11 Mar 12:00") {
		t.Errorf("request show does not say the job ended:\n%s", show)
	}
	golden(t, "request_list_handover", transcript.String())

	var list []map[string]any
	out := e.ok("request", "list", "--urgency", "critical", "--json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0]["name"] != critical || list[0]["state"] != "STATE_OFFERED" {
		t.Errorf("request list --urgency critical --json = %s, want only %s, offered", out, critical)
	}
}

// TestRequestListStateAndUrgencyWords: --state and --urgency take the
// words staff use, and refuse others with the choices.
func TestRequestListStateAndUrgencyWords(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
	}{
		{"in-hand", "[STATE_OPEN STATE_OFFERED STATE_ASSIGNED]"},
		{"In Hand", "[STATE_OPEN STATE_OFFERED STATE_ASSIGNED]"},
		{"open, offered", "[STATE_OPEN STATE_OFFERED]"},
		{"assigned or open", "[STATE_OPEN STATE_ASSIGNED]"},
		{"open,open", "[STATE_OPEN]"},
		{"in-hand,cancelled", "[STATE_OPEN STATE_OFFERED STATE_ASSIGNED STATE_CANCELLED]"},
		{"all", "[]"},
		{"", "[]"},
	} {
		got, err := parseStates(tt.in)
		if err != nil {
			t.Errorf("parseStates(%q): %v", tt.in, err)
			continue
		}
		if s := fmt.Sprint(got); s != tt.want {
			t.Errorf("parseStates(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
	if _, err := parseStates("open,pending"); err == nil || !strings.Contains(err.Error(), `"pending"`) {
		t.Errorf("parseStates(open,pending) = %v", err)
	}
	for in, want := range map[string]string{"high": "URGENCY_HIGH", "critical": "URGENCY_CRITICAL", "high+": "URGENCY_HIGH", "all": "URGENCY_UNSPECIFIED", "": "URGENCY_UNSPECIFIED"} {
		if got, err := parseMinUrgency(in); err != nil || got.String() != want {
			t.Errorf("parseMinUrgency(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

// TestRequestListFromOlderServer: a server from before states and
// min_urgency drops them and lists everything; request list says that the
// server needs upgrading rather than show closed or less urgent requests
// as the urgent ones in hand. One --state and no --urgency still works.
func TestRequestListFromOlderServer(t *testing.T) {
	older := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if r, ok := req.(*pb.ListHelpRequestsRequest); ok {
			r.States, r.MinUrgency = nil, pb.Urgency_URGENCY_UNSPECIFIED
		}
		return handler(ctx, req)
	}
	e := newTestEnvWith(t, grpc.UnaryInterceptor(older))
	e.ok("request", "cancel", e.newRequest("--urgency", "low"))
	open := e.newRequest("--urgency", "low", "--phone", "01224 123457")
	for _, args := range [][]string{{"request", "list"}, {"request", "list", "--state", "open", "--urgency", "high"}} {
		r := e.run(args...)
		if r.code != exitFailed || !strings.Contains(r.stderr, "older version") || !strings.Contains(r.stderr, "give one --state and no --urgency") || r.stdout != "" {
			t.Errorf("doorstep %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	if out := e.ok("request", "list", "--state", "open"); !strings.Contains(out, idOf(open)) || strings.Count(out, "\n") != 2 {
		t.Errorf("request list --state open:\n%s", out)
	}
}
