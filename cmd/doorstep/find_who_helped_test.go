package main

import (
	"regexp"
	"testing"
	"time"
)

// TestRequestFindNamesWhoHelped: a caller with a weekly need rings to ask
// for "the same lady as last time". request find is how the helpline
// finds their earlier requests, and it must say who took each one, so that
// staff need not open them one by one while the caller waits.
func TestRequestFindNamesWhoHelped(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	first := e.newRequest()
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	offer := firstName(t, e.ok("offer", "make", first, callum), "offers")
	e.ok("offer", "accept", offer)
	e.clock.advance(48 * time.Hour)
	e.ok("request", "fulfil", first)
	e.env["DOORSTEP_TOKEN"] = e.helpline
	next := e.newRequest("--when", "tue 10:00-12:00")

	out := e.ok("request", "find", "--phone", "01224 123456")
	if !regexp.MustCompile(`(?m)^` + idOf(first) + ` .* fulfilled .*Margaret Ironside +Callum Reid$`).MatchString(out) {
		t.Errorf("request find:\n%s\nwant the fulfilled request's row to name Callum Reid, who helped", out)
	}
	if !regexp.MustCompile(`(?m)^` + idOf(next) + ` .* open .*Margaret Ironside +-$`).MatchString(out) {
		t.Errorf("request find:\n%s\nwant the open request's row to name nobody", out)
	}
	out = e.ok("request", "find", "--phone", "01224 123456", "--linear")
	if !regexp.MustCompile(`State: fulfilled\n(.*\n)*Volunteer: Callum Reid\n`).MatchString(out) {
		t.Errorf("request find --linear:\n%s\nwant the fulfilled request's volunteer", out)
	}
}
