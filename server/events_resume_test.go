package server_test

import (
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
)

// A stream ended before its client got anything still says where to
// resume: the revision the client asked for (or, from now, the next one),
// never revision 1, which would replay the whole log to an app that
// follows resume_revision, or send it to reload when that is compacted.
// (One that got events before it saw the drain resumes after the last.)
func TestDrainedStreamResumesWhereItWasAsked(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		h.createHR(validHelpRequest())
	}
	rev := h.revision()
	h.srv.Drain()
	for i := range 20 {
		for _, start := range []int64{rev, 0} {
			w := h.watch(h.ev, &pb.WatchEventsRequest{StartRevision: start})
			err := w.wait(t)
			code, reason, _ := errorOf(t, err)
			if code != codes.Unavailable || reason != server.ReasonShuttingDown {
				t.Fatalf("stream %d from %d during a drain: %v", i, start, err)
			}
			want := start
			if start == 0 {
				want = rev + 1
			}
			// A stream may yet send what it had read before it saw the
			// drain; it then resumes after that.
			if evs, _ := w.events(); len(evs) > 0 {
				want = evs[len(evs)-1].Revision + 1
			}
			if got := statusMeta(t, err, "resume_revision"); got != strconv.FormatInt(want, 10) {
				t.Fatalf("stream %d from %d: resume_revision %s, want %d", i, start, got, want)
			}
		}
	}
}
