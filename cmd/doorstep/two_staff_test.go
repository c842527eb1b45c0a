package main

import (
	"strings"
	"testing"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// Two staff on the same records at once, acted out step by step: the
// second worker's command reads, then the first worker's change lands
// (the lostReplies hook, before the second's write), then the second
// writes.

func newTwoStaff(t *testing.T) (*testEnv, *lostReplies) {
	t.Helper()
	lost := &lostReplies{lose: map[string]int{}, before: map[string]func(){}}
	e := newTestEnvWith(t, lost.option())
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	return e, lost
}

// TestCancelWhileTheVolunteerAccepts: the worker's cancel read the request
// as offered, then the volunteer said yes (in their app, or to another
// worker), then the cancel freed them. The worker was told only that it
// was cancelled, and nobody told the volunteer not to come.
func TestCancelWhileTheVolunteerAccepts(t *testing.T) {
	e, lost := newTwoStaff(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	lost.before[pb.MatchingService_CancelHelpRequest_FullMethodName] = func() { e.ok("offer", "accept", offer) }
	out := e.ok("request", "cancel", req)
	if want := "Tell Callum Reid (07700 900123) not to come"; !strings.Contains(out, want) {
		t.Errorf("request cancel said %q; want %q", out, want)
	}
}
