package main

import (
	"strings"
	"testing"
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/store"
)

// TestRequestNewAtTheTerminalKeepsAnswersWhenRefused: the call runs long
// and the deadline agreed passes before the request is saved. The server
// refuses it; the worker is told why and asked again at the read-back,
// so that one changed answer saves it, not a whole call retyped.
func TestRequestNewAtTheTerminalKeepsAnswersWhenRefused(t *testing.T) {
	e := newTestEnv(t)
	term, code, stdout := e.atTerminal(t, []string{"request", "new", "--postcode", "AB10 1AB", "--needs", "1", "--name", "Margaret",
		"--phone", "01224 123456", "--org", org, "--when", "today by 10:00"})
	term.expect("Save this request? ")
	e.clock.advance(90 * time.Minute) // the caller had a lot to say
	term.send("y")
	term.expect("is in the past")
	term.expect("Save this request? ")
	term.send("when")
	term.expect("When (")
	term.send("today by 18:00")
	term.expect("Save this request? ")
	term.send("y")
	term.finished(t, code, "request new")
	got := e.storedRequests(store.HelpRequestFilter{})
	if len(got) != 1 || got[0].Requester.DisplayName != "Margaret" ||
		!got[0].GetDeadline().AsTime().Equal(time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)) {
		t.Fatalf("stored %v, want Margaret's request by 18:00", got)
	}
	if !strings.HasPrefix(stdout.String(), "Saved helpRequests/") {
		t.Errorf("stdout = %q", stdout.String())
	}
}

// TestRequestEditCallerDetails: a caller rings to say their number has
// changed, or that they live alone now; the helpline records it on the
// request, so that the volunteer rings the right number.
func TestRequestEditCallerDetails(t *testing.T) {
	e := newTestEnv(t)
	req := e.newRequest()
	out := e.ok("request", "edit", req, "--phone", "07700 900999", "--name", "Maggie", "--circumstances", "1", "--enters-home")
	for _, w := range []string{"Caller         Maggie, 07700 900999", "Circumstances  lives alone", "Enters home    yes"} {
		if !strings.Contains(out, w) {
			t.Errorf("request edit:\n%s\nwant a line %q", out, w)
		}
	}
	// Typed without quotes, as people do.
	e.ok("request", "edit", req, "--phone", "07700", "900888")
	got := e.storedRequests(store.HelpRequestFilter{Phone: "+447700900888"})
	if len(got) != 1 || got[0].Requester.DisplayName != "Maggie" || !got[0].GetVulnerability().GetLivesAlone() || !got[0].EntersHome {
		t.Errorf("stored under 07700 900888: %v", got)
	}
	checkFailure(t, e.run("request", "edit", req, "--phone", "12345"), true, exitUsage, `--phone: "12345" is not a phone number*`)
	checkFailure(t, e.run("request", "edit", req, "--name", " "), true, exitUsage, `--name: *`)
}

// TestValuesTypedWithoutQuotes: as request find --phone 07700 900123 and
// request list --near AB10 1AB take a number and a postcode without
// quotes, so do request new and volunteer add, rather than stopping the
// call with a word they cannot place.
func TestValuesTypedWithoutQuotes(t *testing.T) {
	e := newTestEnv(t)
	out := e.ok("volunteer", "add", "--name", "Callum", "Reid", "--phone", "07700", "900123", "--postcode", "AB10", "1AF",
		"--available", "tue", "10-12", "--org", org)
	if !strings.HasPrefix(out, "Registered volunteers/") || !strings.Contains(out, "Callum Reid, AB10 1AF, free tue 10:00-12:00") {
		t.Errorf("volunteer add: %q", out)
	}
	out = e.ok("request", "new", "--postcode", "AB10", "1AB", "--needs", "errands", "--when", "tomorrow", "10-12",
		"--name", "Margaret", "--phone", "01224", "123456", "--details", "Post", "a", "parcel", "--org", org)
	got := e.storedRequests(store.HelpRequestFilter{Phone: "+441224123456"})
	if len(got) != 1 || got[0].Location.Postcode != "AB10 1AB" || got[0].Details != "Post a parcel" ||
		!got[0].GetWindow().GetStartTime().AsTime().Equal(time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("request new: %q; stored %v", out, got)
	}
	// A word after a switch or a number is no part of a value.
	checkFailure(t, e.run("volunteer", "add", "--capacity", "2", "3", "--name", "X"), true, exitUsage, `Unexpected "3": *`)
	checkFailure(t, e.run("request", "new", "--enters-home", "yes", "--postcode", "AB10 1AB"), true, exitUsage, `Unexpected "yes": *`)
}

// TestCandidatesWhenTheVolunteerComingCannotTakeIt: the volunteer going
// to the caller's door for their shopping cannot give the lift they also
// asked for. The helpline is not told to offer it to them (it would be
// refused), but how the lift can still be given.
func TestCandidatesWhenTheVolunteerComingCannotTakeIt(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	shopping := e.newRequest()
	e.ok("offer", "make", shopping, aileen)
	out := e.ok("request", "new", "--postcode", "AB10 1AB", "--street", "union st", "--needs", "transport", "--when", "tomorrow 11:00-13:00",
		"--name", "Margaret Ironside", "--phone", "01224 123456", "--org", org)
	lift := firstName(t, out, "helpRequests")
	out = e.ok("request", "candidates", lift)
	if strings.Contains(out, "offer this one to them too") || !strings.Contains(out, "--second-volunteer") || !strings.Contains(out, idOf(callum)) {
		t.Errorf("candidates for the lift:\n%s\nwant Callum, and no advice to offer it to Aileen, who cannot take it", out)
	}
	// The advice followed: Aileen is refused, Callum is offered it.
	checkFailure(t, e.run("offer", "make", lift, aileen), true, exitFailed, "*")
	e.ok("offer", "make", lift, callum, "--second-volunteer")
}

// TestBareAfternoonHours: "tomorrow 2-4", as a caller says it, is the
// afternoon. It was stored as 02:00-04:00, when no volunteer is free, and
// the request lapsed unseen; a volunteer "free sat 2-4" was free at night.
func TestBareAfternoonHours(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 45, 0, 0, london) // Thursday
	at := func(day, h int) time.Time { return time.Date(2026, 11, day, h, 0, 0, 0, london) }
	for _, tc := range []struct {
		in             string
		start, end, by time.Time
	}{
		{in: "tomorrow 2-4", start: at(27, 14), end: at(27, 16)},
		{in: "sat 1-3", start: at(28, 13), end: at(28, 15)},
		{in: "sat 6-9", start: at(28, 18), end: at(28, 21)},
		{in: "tomorrow by 4", by: at(27, 16)},
		{in: "sat 9-5", start: at(28, 9), end: at(28, 17)},        // as before
		{in: "sat 11-2", start: at(28, 11), end: at(28, 14)},      // as before
		{in: "sat 7-9", start: at(28, 7), end: at(28, 9)},         // a morning
		{in: "sat 02:00-04:00", start: at(28, 2), end: at(28, 4)}, // said plainly
		{in: "sat 2am-4am", start: at(28, 2), end: at(28, 4)},
	} {
		got, err := parseWhen(tc.in, now)
		if err != nil || !got.start.Equal(tc.start) || !got.end.Equal(tc.end) || !got.deadline.Equal(tc.by) {
			t.Errorf("%q read as %v-%v by %v (%v), want %v-%v by %v", tc.in, got.start, got.end, got.deadline, err, tc.start, tc.end, tc.by)
		}
	}
	slots, err := parseAvailability("sat 2-4")
	if err != nil {
		t.Fatal(err)
	}
	if got := slotsWords(slots); got != "sat 14:00-16:00" {
		t.Errorf(`--available "sat 2-4" = %s, want sat 14:00-16:00`, got)
	}
}

// TestVolunteerEditContactAndHome: a volunteer rings with a new number,
// or has moved, or sold their car; the helpline records it, so that
// offers reach them and are for places they can get to.
func TestVolunteerEditContactAndHome(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	r := e.run("volunteer", "edit", callum, "--phone", "07700", "900999", "--name", "Cal Reid", "--postcode", "AB10 1AB", "--street", "Union Street", "--travel", "cycling")
	out := r.stdout
	if r.code != 0 || !strings.HasPrefix(r.stderr, "Note: they keep the skill driver") {
		// Having sold the car, they would still be offered lifts.
		t.Errorf("volunteer edit: exit %d, stderr %q, want the note that they keep driver", r.code, r.stderr)
	}
	for _, w := range []string{"Name          Cal Reid", "Phone         07700 900999", "Home          Union Street, AB10 1AB", "Travel        cycling, up to 5.0 km\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("volunteer edit:\n%s\nwant a line %q", out, w)
		}
	}
	if out := e.ok("volunteer", "find", "--phone", "07700 900999"); !strings.Contains(out, idOf(callum)) {
		t.Errorf("volunteer find by the new number:\n%s", out)
	}
	// A move to a postcode alone takes the old street with it.
	if out := e.ok("volunteer", "edit", callum, "--postcode", "AB10 1AF"); !strings.Contains(out, "Home          AB10 1AF\n") {
		t.Errorf("volunteer edit --postcode:\n%s\nwant the home AB10 1AF alone", out)
	}
	checkFailure(t, e.run("volunteer", "edit", callum, "--travel", "bus"), true, exitUsage, `--travel: *`)
	checkFailure(t, e.run("volunteer", "edit", callum, "--phone", "123"), true, exitUsage, `--phone: "123" is not a phone number*`)
}

// TestRequestEditNamesTheVolunteerToTell: the caller moves their visit
// to another day. The request stays with the volunteer who accepted it,
// who does not know; the helpline is shown who that is and their number,
// to ring them, as request show would.
func TestRequestEditNamesTheVolunteerToTell(t *testing.T) {
	e, _, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	out := e.ok("request", "edit", req, "--when", "thu 14:00-16:00")
	for _, w := range []string{"State          assigned", "Volunteer      volunteers/", "Callum Reid, 07700 900123",
		"Tell Callum Reid (07700 900123) of the change: the request is assigned to them."} {
		if !strings.Contains(out, w) {
			t.Errorf("request edit of an assigned request:\n%s\nwant %q", out, w)
		}
	}
	// Details only the volunteer reads at the door need no call.
	if out := e.ok("request", "edit", req, "--urgency", "low"); strings.Contains(out, "Tell ") {
		t.Errorf("request edit --urgency:\n%s\nwant no call to the volunteer", out)
	}
}

// TestWrongStateSaysWhatToDo: a step the request or offer is past says
// where it stands and what can be done, not the API's "read it again".
func TestWrongStateSaysWhatToDo(t *testing.T) {
	e, _, req, offer := offeredRequest(t)
	checkFailure(t, e.run("request", "fulfil", req), true, exitFailed,
		"Not marked done: "+req+" is offered, not yet accepted: only a request a volunteer has accepted can be marked done (WRONG_STATE).")
	e.ok("offer", "decline", offer)
	checkFailure(t, e.run("offer", "accept", offer), true, exitFailed,
		"Not accepted: "+offer+" is declined (WRONG_STATE).")
	checkFailure(t, e.run("offer", "decline", offer), true, exitFailed, "Not declined: "+offer+" is declined already (WRONG_STATE).")
	e.ok("request", "cancel", req)
	checkFailure(t, e.run("request", "cancel", req), true, exitFailed,
		"Not cancelled: "+req+" is cancelled already (WRONG_STATE).")
}

// TestDeniedSaysWhichToken: a helpline token refused a coordinator's or
// an admin's command is told which token it needs, not only that "this
// token's role may not make this call".
func TestDeniedSaysWhichToken(t *testing.T) {
	e := newTestEnv(t)
	checkFailure(t, e.run("dispatch"), true, exitDenied,
		"The token does not allow this: doorstep dispatch needs an admin or coordinator token (PERMISSION_DENIED).")
	checkFailure(t, e.run("watch"), true, exitDenied,
		"The token does not allow this: doorstep watch needs a coordinator, partner or admin token (PERMISSION_DENIED).")
	checkFailure(t, e.run("admin", "audit"), true, exitDenied,
		"The token does not allow this: doorstep admin audit needs an admin token (PERMISSION_DENIED).")
}

// TestRequestEditOfAClosedRequestTellsNoOne: a note added to a request
// already done or cancelled is no change for the volunteer who held it.
// The helpline was told to ring them, saying "the request is assigned to
// them", when it is not.
func TestRequestEditOfAClosedRequestTellsNoOne(t *testing.T) {
	e, _, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	e.ok("request", "fulfil", req)
	if out := e.ok("request", "edit", req, "--details", "Thanked the volunteer"); strings.Contains(out, "Tell ") {
		t.Errorf("request edit of a fulfilled request:\n%s\nwant no call to the volunteer", out)
	}
	e, _, req, offer = offeredRequest(t)
	e.ok("offer", "accept", offer)
	e.ok("request", "cancel", req)
	if out := e.ok("request", "edit", req, "--details", "Went to her daughter's"); strings.Contains(out, "Tell ") {
		t.Errorf("request edit of a cancelled request:\n%s\nwant no call to the volunteer", out)
	}
}

// TestDeniedKeepsTheServersReason: a partner watching another
// organisation's events holds the right token for doorstep watch; what it
// may not do is the server's own sentence, not "needs a partner token".
func TestDeniedKeepsTheServersReason(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_TOKEN"] = e.token(&pb.Token{DisplayName: "test partner", Role: pb.Role_ROLE_PARTNER, Organisation: org})
	checkFailure(t, e.run("watch", "--org", "another-org"), true, exitDenied,
		"The token does not allow this: a partner token watches its own organisation's events only (PERMISSION_DENIED).")
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken("")
	checkFailure(t, e.run("watch"), true, exitDenied,
		"The token does not allow this: this volunteer token names no volunteer (PERMISSION_DENIED).")
}
