package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestWatchSaysWhereItStopped is a morning coordinator watching only for
// new requests, who stops at the end of the shift: the stream had gone on
// past the changes the filter hid, and the afternoon's watch carries on
// from there. Before, the only number on offer was the last revision
// printed, and a watch whose filter printed nothing all shift gave none.
func TestWatchSaysWhereItStopped(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.ok("offer", "decline", offer) // hidden by the filter below

	lines, code, stderr := e.watchUntilStderr(1, "--from", "1", "--type", "help_request_created")
	if code != 0 {
		t.Fatalf("watch exit %d after Ctrl-C", code)
	}
	printed, _ := strconv.ParseInt(strings.Fields(lines[0])[0], 10, 64)
	m := regexp.MustCompile(`^Stopped after revision ([0-9]+): to carry on from here, doorstep watch --from ([0-9]+) with the same --type and --org\.\n$`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("watch stopped with stderr %q; want where to carry on from", stderr)
	}
	reached, _ := strconv.ParseInt(m[1], 10, 64)
	from, _ := strconv.ParseInt(m[2], 10, 64)
	if reached <= printed || from != reached+1 {
		t.Errorf("stopped after %d, carry on from %d; the last line printed was revision %d and the decline came after it", reached, from, printed)
	}

	// The afternoon: the next change, and nothing the morning's watch
	// went past.
	e.newRequest("--phone", "01224 765432")
	after, _ := e.watchUntil(1, "--from", fmt.Sprint(from))
	if !strings.Contains(after[0], "help request created") {
		t.Errorf("watch --from %d began with %q, want the afternoon's request", from, after[0])
	}
}
