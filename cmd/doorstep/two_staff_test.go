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

// TestEditLosingToAnotherWorkerSaysWhatChanged: a worker whose edit lost
// to another's change made while it was on its way was told "the resource
// changed since the etag was read; read it again and retry", words of the
// API, naming nothing. Run again, the same command reads afresh and
// overwrites the other change unseen. They are told what changed, and to
// look at it before editing again.
func TestEditLosingToAnotherWorkerSaysWhatChanged(t *testing.T) {
	e, lost := newTwoStaff(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest()
	for _, tc := range []struct {
		name   string
		method string
		other  func() // the other worker's change
		args   []string
		want   []string
	}{
		{"request details", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			func() { e.ok("request", "edit", req, "--details", "Only milk: the neighbour brought bread") },
			[]string{"request", "edit", req, "--details", "Milk, bread and eggs"},
			[]string{"its details", "doorstep request show " + idOf(req)}},
		{"request offered meanwhile", pb.HelpRequestService_UpdateHelpRequest_FullMethodName,
			func() { e.ok("offer", "make", req, callum) },
			[]string{"request", "edit", req, "--urgency", "critical"},
			[]string{"offered to Callum Reid", "doorstep request show " + idOf(req)}},
		{"volunteer paused meanwhile", pb.VolunteerService_UpdateVolunteer_FullMethodName,
			func() { e.ok("volunteer", "pause", callum) },
			[]string{"volunteer", "edit", callum, "--capacity", "3"},
			[]string{"they paused", "doorstep volunteer show " + idOf(callum)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lost.before[tc.method] = tc.other
			r := e.run(tc.args...)
			if r.code != exitFailed || !strings.HasPrefix(r.stderr, "Nothing was changed") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want the edit refused", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
			if strings.Contains(r.stderr, "etag") || strings.Contains(r.stderr, "retry") {
				t.Errorf("stderr %q speaks of etags, or invites a retry that would overwrite the other change", r.stderr)
			}
			e.clock.advance(1e9)
		})
	}
}

// TestEraseAfterAnotherAdminErased: two admins take the same erasure
// request. The second's prompt named the caller's records, then the
// first's erasure took them, and the second was told "Nothing is held
// about" the number: an answer to pass on to the person that their data
// was never held. They are told the records were there moments ago and
// are no longer, and where to see who erased them.
func TestEraseAfterAnotherAdminErased(t *testing.T) {
	e := newTestEnv(t)
	e.newRequest()
	e.asAdmin()
	term, code, stdout := e.atTerminal(t, []string{"admin", "erase", "--phone", "01224 123456"})
	term.expect("Type the phone number again to erase (Enter to stop): ")
	e.ok("admin", "erase", "--phone", "01224 123456", "--yes") // the other admin
	term.send("01224 123456")
	term.finished(t, code, "admin erase")
	got := stdout.String()
	if strings.Contains(got, "Nothing is held") || !strings.Contains(got, "doorstep admin audit --action erase") {
		t.Errorf("the second erasure said %q; want no 'Nothing is held', and where to see the erasure made meanwhile", got)
	}
}

// TestOfferMadeMeanwhileNamesWho: two coordinators each offer the same
// request to a volunteer of their own. The second was told only "the
// request is offered, not open": not to whom, nor what they can do.
func TestOfferMadeMeanwhileNamesWho(t *testing.T) {
	e, _ := newTwoStaff(t)
	callum, aileen := e.addVolunteers()
	req := e.newRequest()
	e.ok("offer", "make", req, callum)
	r := e.run("offer", "make", req, aileen)
	if r.code != exitFailed || !strings.Contains(r.stderr, "Callum Reid") || !strings.Contains(r.stderr, "Not offered") {
		t.Errorf("exit %d, stderr %q; want the offer refused, naming Callum Reid, to whom it is offered", r.code, r.stderr)
	}
	if out := e.ok("request", "show", req); !strings.Contains(out, "Callum Reid") || strings.Contains(out, "Aileen Watt") {
		t.Errorf("request show after both offers:\n%s\nwant it offered to Callum Reid alone", out)
	}
}

// TestDeclineAfterTheVolunteerAccepted: the volunteer accepted in their
// app while the helpline declined for them. The worker was told "Not
// declined: offers/X is accepted", with no word of what it means: the
// volunteer is down to go, and only a hand-back frees the request.
func TestDeclineAfterTheVolunteerAccepted(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken(callum)
	e.ok("offer", "accept", offer)
	e.env["DOORSTEP_TOKEN"] = e.helpline
	r := e.run("offer", "decline", offer)
	if want := "doorstep request release " + idOf(req); r.code != exitFailed || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}
