package main

import (
	"strings"
	"testing"
)

// TestReleaseOfClosedRequestSaysWhatToDo: the helpline marks the wrong
// request done, or cancels it, and the volunteer has not been. Release is
// the command that opens a request again, and a closed request cannot be
// opened again; the refusal says so and says what can be done: take it
// again as a new request, whose details request show still has.
func TestReleaseOfClosedRequestSaysWhatToDo(t *testing.T) {
	for _, tc := range []struct{ close, state string }{
		{"fulfil", "fulfilled"},
		{"cancel", "cancelled"},
	} {
		t.Run(tc.close, func(t *testing.T) {
			e, _, req, offer := offeredRequest(t)
			e.ok("offer", "accept", offer)
			e.ok("request", tc.close, req)
			r := e.run("request", "release", req)
			if r.code != exitFailed {
				t.Fatalf("release of a %s request: exit %d, want %d", tc.state, r.code, exitFailed)
			}
			for _, want := range []string{"Not released: " + req + " is " + tc.state, "cannot be opened again", "doorstep request new", "WRONG_STATE"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("release of a %s request says:\n%s\nwant it to say %q", tc.state, r.stderr, want)
				}
			}
		})
	}
}
