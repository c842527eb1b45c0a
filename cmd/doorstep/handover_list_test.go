package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
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

// lister counts a server's ListHelpRequests calls and, if older, is a
// server from before ListHelpRequestsRequest.states and min_urgency: it
// drops both unread, as protobuf drops fields it does not know, and
// answers the rest. With a page cap it gives pages of at most that many,
// as a server may, so that a list takes several.
type lister struct {
	older   bool
	pageCap int32
	calls   atomic.Int32
}

func (o *lister) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if r, ok := req.(*pb.ListHelpRequestsRequest); ok {
		o.calls.Add(1)
		if o.older {
			r.States, r.MinUrgency = nil, pb.Urgency_URGENCY_UNSPECIFIED
		}
		if o.pageCap > 0 {
			r.PageSize = min(r.PageSize, o.pageCap)
		}
	}
	return handler(ctx, req)
}

// handoverLists builds a shift's requests in two postcodes, some closed,
// and returns what request list says of them, asked in the ways staff ask.
func handoverLists(t *testing.T, e *testEnv) string {
	t.Helper()
	callum, aileen := e.addVolunteers()
	yesterday := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", yesterday, callum), "offers"))
	e.ok("request", "cancel", e.newRequest("--urgency", "critical", "--phone", "01224 123458", "--name", "Ann Gray"))
	e.newRequest("--urgency", "low", "--postcode", "AB10 1AF", "--phone", "01224 123461", "--name", "Sandy Bain")
	e.ok("request", "cancel", e.newRequest("--urgency", "low", "--phone", "01224 123462", "--name", "Jim Reid"))
	e.clock.advance(48 * time.Hour)
	critical := e.newRequest("--urgency", "critical", "--postcode", "AB10 1AF", "--phone", "01224 123459", "--name", "Jean Milne")
	e.ok("offer", "make", critical, aileen)
	e.newRequest("--urgency", "normal", "--when", "tomorrow 15:00-17:00", "--phone", "01224 123460", "--name", "Bill Low")
	e.newRequest("--urgency", "critical", "--phone", "01224 123463", "--name", "Mary Ross")

	var transcript strings.Builder
	for _, args := range [][]string{
		{"request", "list"},
		{"request", "list", "--limit", "3"},
		{"request", "list", "--urgency", "high"},
		{"request", "list", "--urgency", "high", "--limit", "2", "--linear"},
		{"request", "list", "--urgency", "critical", "--linear"},
		{"request", "list", "--near", "AB10", "--linear"},
		{"request", "list", "--near", "AB10", "--limit", "4"},
		{"request", "list", "--state", "open", "--urgency", "high"},
		{"request", "list", "--state", "open,cancelled", "--urgency", "critical"},
		{"request", "list", "--state", "all", "--urgency", "critical", "--limit", "2"},
		{"request", "list", "--state", "expired", "--urgency", "high"},
	} {
		out := e.ok(args...)
		transcript.WriteString("$ doorstep " + strings.Join(args, " ") + "\n" + out + "\n")
	}
	return transcript.String()
}

// TestRequestListFromOlderServer: a helpline whose doorstep was upgraded
// before its server (which drops states and min_urgency, and lists
// everything) was told by every plain "request list" that the server
// needed upgrading. It lists each state in turn with the single state
// older servers know, keeps the urgent ones itself, and shows what a
// newer server would, --limit and "more match" included.
func TestRequestListFromOlderServer(t *testing.T) {
	newer, older := &lister{}, &lister{older: true}
	n := newTestEnvWith(t, grpc.UnaryInterceptor(newer.intercept))
	want := handoverLists(t, n)
	e := newTestEnvWith(t, grpc.UnaryInterceptor(older.intercept))
	got := handoverLists(t, e)
	if normalise(got) != normalise(want) {
		t.Errorf("against an older server request list says\n%s\nwhere a newer one says\n%s", got, want)
	}
	golden(t, "request_list_older_server", got)
	// The same over pages of two, each state's walk and the urgent kept
	// across several.
	paged := newTestEnvWith(t, grpc.UnaryInterceptor((&lister{older: true, pageCap: 2}).intercept))
	if got := handoverLists(t, paged); normalise(got) != normalise(want) {
		t.Errorf("against an older server's pages of two request list says\n%s\nwhere a newer one says\n%s", got, want)
	}

	// Against a newer server one page is read; against an older one the
	// first page, which holds a closed request, gives it away, and each
	// state in hand is then read once.
	for _, tt := range []struct {
		env    *testEnv
		server *lister
		want   int32
	}{{n, newer, 1}, {e, older, 4}} {
		before := tt.server.calls.Load()
		tt.env.ok("request", "list")
		if got := tt.server.calls.Load() - before; got != tt.want {
			t.Errorf("request list (older server %v) read %d pages, want %d", tt.server.older, got, tt.want)
		}
	}
}
