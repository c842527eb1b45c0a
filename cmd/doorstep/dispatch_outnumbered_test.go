package main

import (
	"strings"
	"testing"
	"time"
)

// TestDispatchOutnumberedSaysWhatHappened: three callers as urgent as each
// other, each within reach of both of two volunteers with room for one job
// apiece. A run covers two, and the third is left for want of a volunteer:
// nobody more urgent took them, and either request covered could have gone
// to the other volunteer. The coordinator reading the run's summary to a
// caller must not be handed "needed for more urgent requests, or for ones
// nobody else could take", which is true of neither.
func TestDispatchOutnumberedSaysWhatHappened(t *testing.T) {
	e := newTestEnv(t)
	for _, v := range []struct{ name, phone, postcode string }{
		{"Zoe Bain", "07700 900201", "AB10 1AB"},
		{"Yusuf Ali", "07700 900202", "AB10 1AF"},
	} {
		e.ok("volunteer", "add", "--name", v.name, "--phone", v.phone, "--postcode", v.postcode,
			"--available", "daily 08:00-20:00", "--capacity", "1", "--org", org)
		e.clock.advance(time.Second)
	}
	for _, phone := range []string{"01224 100001", "01224 100002", "01224 100003"} {
		e.newRequest("--phone", phone) // three households, all "high"
	}
	out := e.ok("dispatch", "--token="+e.coordinator)
	if !strings.HasPrefix(out, "Made 2 offers for 3 open requests: 2 high.\n") {
		t.Fatalf("dispatch of three requests to two volunteers:\n%s", out)
	}
	const want = "1 request stays open: the volunteers who could take it were all given other requests in this run.\n"
	if !strings.Contains(out, want) {
		t.Errorf("dispatch of three requests as urgent as each other to two volunteers:\n%s\nwant the request left open explained as %q", out, want)
	}
}
