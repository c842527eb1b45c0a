package server_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestWatchAfterCompactionReloadGetsBackToLive: a coordinator's app back
// after more than the retention (a phone left off over a long weekend)
// is told its events were compacted, reloads its view with List calls,
// which takes a while on a busy group's lists, and watches from where the
// error said. The log's start moves on at every sweep (every 15 s) while
// the app reloads: a resume point there is gone by the time the app
// comes back, and an app that reloads again each time never gets back to
// a live view. Where the error sends it must still be held after the
// reload, and the stream from there must miss nothing made meanwhile.
func TestWatchAfterCompactionReloadGetsBackToLive(t *testing.T) {
	clock := &testClock{t: time.Now()}
	h := newHarnessWithClock(t, clock, server.WithEventRetention(time.Hour))
	phone := 0
	change := func() string {
		phone++
		v := validVolunteer()
		v.Contact.Phone = fmt.Sprintf("07700 9%05d", phone)
		// Straight to the store: a day's changes through the API would
		// meet the token's call rate.
		got, err := h.st.CreateVolunteer(h.ctx, v, store.Idempotency{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Name
	}
	// A busy group: a change every ten seconds, all day.
	busy := func(d time.Duration) {
		for range int(d / (10 * time.Second)) {
			change()
			clock.advance(10 * time.Second)
		}
	}
	busy(10 * time.Minute)
	seen := h.revision() - 50 // where the app's phone was switched off
	busy(time.Hour)
	h.srv.Sweep(h.ctx)

	resume := seen + 1
	for reload := 1; reload <= 3; reload++ {
		stream, err := h.ev.WatchEvents(h.ctx, &pb.WatchEventsRequest{StartRevision: resume})
		if err == nil {
			_, err = stream.Recv()
		}
		if err == nil {
			if reload == 1 {
				t.Fatalf("a watch from revision %d, compacted, was opened", resume)
			}
			break // back to a live view
		}
		code, reason, _ := errorOf(t, err)
		if code != codes.OutOfRange || reason != server.ReasonEventsCompacted {
			t.Fatalf("reload %d: watch from %d: %v", reload, resume, err)
		}
		if reload == 3 {
			t.Fatalf("after reloading its view 3 times as told, the app is still told its events were compacted (%v): "+
				"the log's start moves on at each sweep while it reloads", err)
		}
		// Where the error sends the app once it has reloaded.
		if cur := statusMetaOr(err, "current_revision"); cur != "" {
			n, perr := strconv.ParseInt(cur, 10, 64)
			if perr != nil {
				t.Fatalf("current_revision %q: %v", cur, perr)
			}
			resume = n + 1
		} else {
			resume, _ = strconv.ParseInt(statusMeta(t, err, "oldest_revision"), 10, 64)
		}
		// The reload: List calls for a busy group's requests and
		// volunteers take 20 s, while the group goes on changing and
		// the server goes on sweeping.
		busy(20 * time.Second)
		h.srv.Sweep(h.ctx)
	}

	// Back live: a change made now is heard.
	w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: resume})
	name := change()
	h.waitFor(w, h.revision())
	got, _ := w.events()
	if len(got) == 0 || got[len(got)-1].Volunteer != name {
		t.Errorf("after the reload the stream heard %q, want the creation of %s last", eventKeys(got), name)
	}
}

// statusMetaOr is the ErrorInfo metadata key of err, or "".
func statusMetaOr(err error, key string) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Metadata[key]
		}
	}
	return ""
}
