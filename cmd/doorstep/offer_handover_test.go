package main

import (
	"strings"
	"testing"
	"time"
)

// TestOfferListSaysHowEachEnded is a coordinator taking over a shift and
// reading a request's offers to learn what was tried: each row says who
// made the offer (the dispatcher or staff), when an ended one ended, and
// for a withdrawn one why, as the offer records them (a hold is the rule PAUSED). Before, a withdrawn
// offer read "withdrawn" alone, with no time and no hand.
func TestOfferListSaysHowEachEnded(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	r1 := e.newRequest()

	declined := firstName(t, e.ok("offer", "make", r1, aileen), "offers")
	e.clock.advance(time.Minute) // Tue 10 Mar 09:00:03 + 1m
	e.ok("offer", "decline", declined)
	withdrawn := firstName(t, e.ok("offer", "make", r1, callum), "offers")
	e.clock.advance(time.Minute)
	e.env["DOORSTEP_TOKEN"] = e.coordinator
	e.ok("volunteer", "hold", callum) // the morning's safeguarding hold
	e.ok("volunteer", "unhold", callum)
	e.ok("dispatch")

	for _, tc := range []struct {
		linear bool
		offer  string
		want   []string
	}{
		{false, declined, []string{"declined", "staff", "Tue 10 Mar 09:01"}},
		{false, withdrawn, []string{"withdrawn (paused or on hold)", "staff", "Tue 10 Mar 09:02"}},
		{true, withdrawn, []string{"State: withdrawn (paused or on hold)", "Made by: staff", "Ended: Tue 10 Mar 09:02"}},
	} {
		args := []string{"offer", "list", "--request", r1}
		if tc.linear {
			args = append(args, "--linear")
		}
		out := e.ok(args...)
		row := rowOf(out, idOf(tc.offer), tc.linear)
		for _, w := range tc.want {
			if !strings.Contains(row, w) {
				t.Errorf("offer list (linear %t): the row of %s lacks %q:\n%s", tc.linear, tc.offer, w, out)
			}
		}
	}
	out := e.ok("offer", "list", "--request", r1, "--state", "pending")
	if !strings.Contains(out, "dispatcher") {
		t.Errorf("offer list of the dispatcher's offer does not say it made it:\n%s", out)
	}
}

// rowOf is the line of a table, or the record of a --linear list, that
// names id.
func rowOf(out, id string, linear bool) string {
	if !linear {
		for line := range strings.SplitSeq(out, "\n") {
			if strings.Contains(line, id) {
				return line
			}
		}
		return ""
	}
	for rec := range strings.SplitSeq(out, "\n\n") {
		if strings.Contains(rec, id) {
			return rec
		}
	}
	return ""
}

// TestOfferListAcceptedJobNotEnded is a coordinator taking over a shift
// who reads a request's offers while its volunteer is still on the job:
// the accepted offer's row said "ENDED" at the minute it was accepted, so
// the job read as over and nobody chased it. An accepted offer is where
// the job began: the row says when it was accepted and ends nothing.
func TestOfferListAcceptedJobNotEnded(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	r1 := e.newRequest()
	accepted := firstName(t, e.ok("offer", "make", r1, callum), "offers")
	e.clock.advance(time.Minute) // Tue 10 Mar 09:01
	e.ok("offer", "accept", accepted)
	e.clock.advance(time.Hour)

	for _, tc := range []struct {
		linear    bool
		want, not []string
	}{
		{false, []string{"accepted Tue 10 Mar 09:01"}, nil},
		{true, []string{"State: accepted Tue 10 Mar 09:01", "Ended: none"}, []string{"Ended: Tue"}},
	} {
		args := []string{"offer", "list", "--request", r1}
		if tc.linear {
			args = append(args, "--linear")
		}
		out := e.ok(args...)
		row := rowOf(out, idOf(accepted), tc.linear)
		for _, w := range tc.want {
			if !strings.Contains(row, w) {
				t.Errorf("offer list (linear %t): the accepted offer's row lacks %q:\n%s", tc.linear, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(row, w) {
				t.Errorf("offer list (linear %t): the accepted offer's row says %q, as if the job were over:\n%s", tc.linear, w, out)
			}
		}
		if !tc.linear && strings.HasSuffix(strings.TrimSpace(row), "Tue 10 Mar 09:01") {
			t.Errorf("offer list: the accepted offer's ENDED column has the time it was accepted:\n%s", out)
		}
	}
}
