package main

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
	"github.com/doorstep-aid/doorstep/server"
	"github.com/doorstep-aid/doorstep/store"
)

// TestOfferList makes offers that end declined, accepted and pending,
// then lists them the ways the helpline does: by volunteer, by request,
// the pending ones, as JSON, none, and with a volunteer's own token.
func TestOfferList(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	// r2 is another caller's: one door gets one volunteer.
	r1, r2, r3 := e.newRequest(), e.newRequest("--phone", "01224 765432"), e.newRequest()

	declined := firstName(t, e.ok("offer", "make", r1, aileen), "offers")
	e.ok("offer", "decline", declined)
	accepted := firstName(t, e.ok("offer", "make", r1, callum), "offers")
	e.ok("offer", "accept", accepted)
	// Made first but due last, so that the pending order (soonest due
	// first) differs from the order they were made in.
	late := firstName(t, e.ok("offer", "make", r3, callum, "--lease", "2h"), "offers")
	e.clock.advance(time.Minute)
	soon := firstName(t, e.ok("offer", "make", r2, aileen), "offers")

	// Bare id, as read out by the volunteer.
	out := e.ok("offer", "list", "--volunteer", strings.TrimPrefix(aileen, "volunteers/"))
	golden(t, "offer_list_volunteer", out)
	wantOrder(t, out, declined, soon)
	if strings.Contains(out, idOf(accepted)) || strings.Contains(out, idOf(late)) {
		t.Errorf("offer list --volunteer shows another volunteer's offers:\n%s", out)
	}

	out = e.ok("offer", "list", "--request", r1)
	golden(t, "offer_list_request", out)
	wantOrder(t, out, declined, accepted)
	if strings.Contains(out, idOf(soon)) || strings.Contains(out, idOf(late)) {
		t.Errorf("offer list --request shows another request's offers:\n%s", out)
	}

	out = e.ok("offer", "list", "--state", "pending")
	golden(t, "offer_list_pending", out)
	wantOrder(t, out, soon, late)
	if strings.Contains(out, "declined") || strings.Contains(out, "accepted") {
		t.Errorf("offer list --state pending shows decided offers:\n%s", out)
	}

	// The word in any case, with the volunteer's full name.
	out = e.ok("offer", "list", "--volunteer", aileen, "--state", "PENDING")
	if got := idRE.FindAllString(out, -1); len(got) != 3 || got[0] != idOf(soon) {
		t.Errorf("offer list --volunteer --state PENDING = %q, want only %s", out, soon)
	}

	var list []map[string]any
	raw := e.ok("offer", "list", "--state", "pending", "--json")
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		t.Fatalf("offer list --json: %v\n%s", err, raw)
	}
	if len(list) != 2 || list[0]["name"] != soon || list[0]["state"] != "STATE_PENDING" || list[0]["volunteer"] != aileen ||
		list[0]["help_request"] != r2 || list[1]["name"] != late {
		t.Errorf("offer list --state pending --json = %s", raw)
	}
	if _, ok := list[1]["distance_metres"]; !ok {
		t.Errorf("offer list --json has no distance_metres for Callum, who lives a street away: %s", raw)
	}

	if got := e.ok("offer", "list", "--state", "expired"); got != "No expired offers.\n" {
		t.Errorf("offer list with none = %q", got)
	}
	if got := e.ok("offer", "list", "--request", r3, "--state", "declined"); got != "No declined offers of "+r3+".\n" {
		t.Errorf("offer list --request --state with none = %q", got)
	}
	if got := e.ok("offer", "list", "--state", "withdrawn", "--json"); got != "[]\n" {
		t.Errorf("empty offer list --json = %q, want []", got)
	}

	// A volunteer's token lists their own offers, asked or not.
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken(aileen)
	out = e.ok("offer", "list")
	if got := idRE.FindAllString(out, -1); len(got) != 6 || got[0] != idOf(declined) || got[3] != idOf(soon) {
		t.Errorf("offer list with Aileen's token = %q, want her two offers only", out)
	}
}

// TestOfferListMistakes: a mistake in the options is a usage error that
// names what would be right, and nothing is asked of the server.
func TestOfferListMistakes(t *testing.T) {
	e := newTestEnv(t)
	e.env["DOORSTEP_ADDR"] = "127.0.0.1:1" // a call would fail with exit 4
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--state", "maybe"}, `--state: "maybe" is not an offer state: pending, accepted, declined, expired, withdrawn or all.`},
		{[]string{"--state", "open"}, `--state: "open" is not an offer state: pending, accepted, declined, expired, withdrawn or all.`},
		{[]string{"--volunteer", "12"}, `"12" is not a volunteer id: ids are 26 letters and digits, as printed by doorstep.`},
		{[]string{"--request", "volunteers/01kk0000000000000000000000"}, `"volunteers/01kk0000000000000000000000" is not a help request: give its id or helpRequests/ID.`},
		{[]string{"--limit", "0"}, "--limit must be at least 1."},
		{[]string{"01kk0000000000000000000000"}, `Unexpected "01kk0000000000000000000000": usage is doorstep offer list [--volunteer VOLUNTEER] [--request REQUEST] [--state pending].`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkFailure(t, e.run(append([]string{"offer", "list"}, tc.args...)...), true, exitUsage, tc.want)
		})
	}
}

// TestDispatch runs the dispatcher on demand: it offers the open requests
// it can, says what it did, and leaves those requests OFFERED.
func TestDispatch(t *testing.T) {
	e := newTestEnv(t)
	e.addVolunteers()
	coord := "--token=" + e.coordinator

	if out := e.ok("dispatch", coord); !regexp.MustCompile(`^No requests are open: nothing to offer\. Took .+\.\n$`).MatchString(out) {
		t.Errorf("dispatch with nothing open = %q", out)
	}

	// Three callers: two requests of one caller at one time would go to one
	// volunteer (TestDispatchSameDoor).
	r1, r2 := e.newRequest(), e.newRequest("--phone", "01224 123457")
	nobody := e.newRequest("--skills", "welsh", "--phone", "01224 123458") // no volunteer speaks Welsh

	raw := e.ok("dispatch", coord, "--json")
	var resp struct {
		OpenRequests    int              `json:"open_requests"`
		OffersMade      int              `json:"offers_made"`
		Uncovered       int              `json:"uncovered"`
		OffersByUrgency map[string]int   `json:"offers_by_urgency"`
		TotalScore      *float64         `json:"total_score"`
		Took            *json.RawMessage `json:"took"`
	}
	if err := json.Unmarshal([]byte(raw), &resp); err != nil {
		t.Fatalf("dispatch --json: %v\n%s", err, raw)
	}
	if resp.OpenRequests != 3 || resp.OffersMade != 2 || resp.Uncovered != 1 || len(resp.OffersByUrgency) != 1 ||
		resp.OffersByUrgency["URGENCY_HIGH"] != 2 || resp.TotalScore == nil || resp.Took == nil {
		t.Errorf("dispatch --json = %s", raw)
	}
	offered := e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OFFERED})
	if len(offered) != 2 || !hasRequest(offered, r1) || !hasRequest(offered, r2) {
		t.Errorf("offered requests in the store = %v, want %s and %s", offered, r1, r2)
	}
	if open := e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN}); len(open) != 1 || open[0].Name != nobody {
		t.Errorf("open requests in the store = %v, want only %s", open, nobody)
	}
	if got := idRE.FindAllString(e.ok("offer", "list", "--state", "pending"), -1); len(got) != 6 {
		t.Errorf("offer list --state pending after dispatch lists %d ids, want the 2 offers'", len(got)/3)
	}

	// One volunteer has room left (Callum takes 2, Aileen 1): a critical
	// request gets it, the Welsh one still has nobody.
	urgent := e.newRequest("--urgency", "critical", "--phone", "01224 123459")
	out := e.ok("dispatch", coord)
	want := regexp.MustCompile(`^Made 1 offer for 2 open requests: 1 critical\.\n` +
		`1 request stays open with nobody in reach free and able to take it: more volunteers are needed there \(doorstep request candidates says why\)\.\n` +
		`Total score -?\d+ \(metres to travel, less bonuses; lower is better\)\. Took .+\.\n$`)
	if !want.MatchString(out) {
		t.Errorf("dispatch = %q, want it to match %s", out, want)
	}
	if got := e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OFFERED}); len(got) != 3 || !hasRequest(got, urgent) {
		t.Errorf("offered requests after the second dispatch = %v, want %s among 3", got, urgent)
	}

	// The helpline's token may not dispatch.
	checkFailure(t, e.run("dispatch"), true, exitDenied, "The token does not allow this: *")
}

// TestDispatchSummaryWords: the urgencies come most urgent first, whatever
// order the map gives them in.
func TestDispatchSummaryWords(t *testing.T) {
	if got := urgencyCounts(map[string]int32{"URGENCY_LOW": 1, "URGENCY_CRITICAL": 2, "URGENCY_NORMAL": 3, "URGENCY_HIGH": 4}); got != "2 critical, 4 high, 3 normal, 1 low" {
		t.Errorf("urgencyCounts = %q, want the most urgent first", got)
	}
}

// wantOrder checks that the offers' ids appear in out in this order.
func wantOrder(t *testing.T, out string, offers ...string) {
	t.Helper()
	last := -1
	for _, o := range offers {
		i := strings.Index(out, idOf(o))
		if i < 0 {
			t.Errorf("%s is not listed:\n%s", o, out)
			return
		}
		if i < last {
			t.Errorf("%s is listed before the offer it should follow:\n%s", o, out)
		}
		last = i
	}
}

func hasRequest(hrs []*pb.HelpRequest, name string) bool {
	for _, hr := range hrs {
		if hr.Name == name {
			return true
		}
	}
	return false
}

// volunteerToken stores a token for one volunteer and returns its secret.
func (e *testEnv) volunteerToken(volunteer string) string {
	return e.token(&pb.Token{DisplayName: "test volunteer", Role: pb.Role_ROLE_VOLUNTEER, Volunteer: volunteer})
}

// token stores tok and returns its secret.
func (e *testEnv) token(tok *pb.Token) string {
	e.t.Helper()
	secret, hash, err := server.NewSecret()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateToken(context.Background(), tok, hash, false); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// TestDispatchUncoveredSentences: each reason a request went uncovered,
// singular and plural.
func TestDispatchUncoveredSentences(t *testing.T) {
	for _, tt := range []struct {
		resp *pb.DispatchResponse
		want []string
	}{
		{&pb.DispatchResponse{}, []string{"Every open request now has an offer."}},
		{&pb.DispatchResponse{Uncovered: 1, WithoutCandidates: 1}, []string{
			"1 request stays open with nobody in reach free and able to take it: more volunteers are needed there (doorstep request candidates says why)."}},
		{&pb.DispatchResponse{Uncovered: 6, WithoutCandidates: 2, Outnumbered: 3}, []string{
			"2 requests stay open with nobody in reach free and able to take them: more volunteers are needed there (doorstep request candidates says why).",
			"3 requests stay open: the volunteers who could take them were all given other requests in this run.",
			"1 request stays open until the next run: it or its volunteer changed while this one was planned."}},
		{&pb.DispatchResponse{Uncovered: 3, Outnumbered: 1}, []string{
			"1 request stays open: the volunteers who could take it were all given other requests in this run.",
			"2 requests stay open until the next run: they or their volunteers changed while this one was planned."}},
	} {
		if got := uncovered(tt.resp); !slices.Equal(got, tt.want) {
			t.Errorf("uncovered(%v) =\n%q\nwant\n%q", tt.resp, got, tt.want)
		}
	}
}

// offeredRequest is a test server on which Callum is offered a new
// request.
func offeredRequest(t *testing.T) (e *testEnv, callum, req, offer string) {
	t.Helper()
	e = newTestEnv(t)
	callum, _ = e.addVolunteers()
	req = e.newRequest()
	offer = firstName(t, e.ok("offer", "make", req, callum), "offers")
	return e, callum, req, offer
}

// TestOfferListDistanceOfAGoneVolunteer: once a volunteer is erased, their
// old offers list with no distance ("-") rather than a made-up one.
func TestOfferListDistanceOfAGoneVolunteer(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.ok("offer", "decline", offer)
	// Staff see who will not be offered the request again, and why not.
	if out := e.ok("request", "show", req); !regexp.MustCompile(`\nNot offered again +` + callum + ` \(declined, let an offer lapse, or handed it back\)\n`).MatchString(out) {
		t.Errorf("request show after a decline:\n%s\nwant the volunteer who declined", out)
	}
	if out := e.ok("offer", "list", "--request", req, "--state", "all"); !strings.Contains(out, "under 10 m") {
		t.Errorf("before the erasure:\n%s\nwant the distance", out)
	}
	e.asAdmin()
	e.ok("admin", "erase", "--phone", "07700 900123", "--yes")
	out := e.ok("offer", "list", "--request", req, "--state", "all")
	if rows := strings.Split(strings.TrimSpace(out), "\n"); len(rows) != 2 || !strings.Contains(rows[1], "declined") || strings.Fields(rows[1])[4] != "-" {
		t.Errorf("after the erasure:\n%s\nwant the declined offer with distance -", out)
	}
}

// A request stays readable when the volunteer who helped is erased: the
// volunteer's row says their record is gone.
func TestRequestShowAfterVolunteerErased(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.ok("offer", "accept", offer)
	e.ok("request", "fulfil", req)
	e.asAdmin()
	e.ok("admin", "erase", "--phone", "07700 900123", "--yes")
	out := e.ok("request", "show", req)
	if want := regexp.MustCompile(`\nVolunteer +` + callum + `, record deleted\n`); !want.MatchString(out) {
		t.Errorf("request show after the volunteer's erasure:\n%s\nwant a row matching %s", out, want)
	}
	if strings.Contains(out, "Callum") || strings.Contains(out, "07700") {
		t.Errorf("request show after the volunteer's erasure still names them:\n%s", out)
	}
}

// A volunteer's token sees who asked only once the request is theirs; until
// then the caller's row says the details are withheld, not blank.
func TestRequestShowAsOfferedVolunteer(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken(callum)
	out := e.ok("request", "show", req)
	if !regexp.MustCompile(`\nCaller +withheld: shown only to its volunteer, while assigned\n`).MatchString(out) || strings.Contains(out, "Margaret") {
		t.Errorf("request show to the offered volunteer:\n%s\nwant the caller withheld", out)
	}
	e.ok("offer", "accept", offer)
	if out := e.ok("request", "show", req); !regexp.MustCompile(`\nCaller +Margaret Ironside, 01224 123456\n`).MatchString(out) {
		t.Errorf("request show to the assigned volunteer:\n%s\nwant the caller", out)
	}
}

// A partner's token may read its organisation's requests but not offers
// or volunteers: request show leaves out what it may not read, rather
// than failing.
func TestRequestShowWithPartnerToken(t *testing.T) {
	e, callum, req, offer := offeredRequest(t)
	staff := e.env["DOORSTEP_TOKEN"]
	partner := e.token(&pb.Token{DisplayName: "test partner", Role: pb.Role_ROLE_PARTNER, Organisation: org})
	e.env["DOORSTEP_TOKEN"] = partner
	out := e.ok("request", "show", req)
	if !regexp.MustCompile(`\nState +offered\n`).MatchString(out) || !regexp.MustCompile(`\nCaller +Margaret Ironside, `).MatchString(out) || strings.Contains(out, "Callum") {
		t.Errorf("request show, offered, to the partner:\n%s\nwant the request and its caller, and nothing of the offer's volunteer", out)
	}
	e.env["DOORSTEP_TOKEN"] = staff
	e.ok("offer", "accept", offer)
	e.env["DOORSTEP_TOKEN"] = partner
	out = e.ok("request", "show", req)
	if !regexp.MustCompile(`\nVolunteer +`+callum+`\n`).MatchString(out) || strings.Contains(out, "Callum") {
		t.Errorf("request show, assigned, to the partner:\n%s\nwant the volunteer's id alone", out)
	}
}

// TestDispatchSameDoor: one caller's two requests at one time never bring
// two volunteers to their door; a request kept for the volunteer already
// going there is said to be so.
func TestDispatchSameDoor(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	coord := "--token=" + e.coordinator
	e.ok("volunteer", "edit", callum, "--capacity", "1") // room for one each: one request must wait
	e.newRequest()
	e.newRequest("--needs", "dog_walking")
	out := e.ok("dispatch", coord)
	if len(e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN})) != 1 {
		t.Fatalf("want one request kept back:\n%s", out)
	}
	offered := e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OFFERED})
	vols := map[string]bool{}
	for _, hr := range offered {
		o, err := e.st.GetOffer(context.Background(), idOf(hr.Offer))
		if err != nil {
			t.Fatal(err)
		}
		vols[o.Volunteer] = true
	}
	switch {
	case len(vols) != 1:
		t.Errorf("one caller's two requests at one time went to %d volunteers: %v\n%s", len(vols), vols, out)
	case len(offered) == 1 && !strings.Contains(out, "1 request stays open for the volunteer already going to its caller's door then"):
		t.Errorf("dispatch kept one request back without saying why:\n%s", out)
	}
	// The helpline, looking for someone for the one kept back, is told
	// who is already going to that door.
	for _, hr := range e.storedRequests(store.HelpRequestFilter{State: pb.HelpRequest_STATE_OPEN}) {
		out := e.ok("request", "candidates", hr.Name, coord)
		if !strings.Contains(out, "is already going to this caller's door then") {
			t.Errorf("request candidates for the one kept back does not say who is coming:\n%s", out)
		}
	}
}

// TestOfferMakeOneVolunteerPerDoor: offering a caller's second request at
// their door to a second volunteer is refused in plain words, naming the
// volunteer already going; --second-volunteer makes it when the caller has
// agreed to two visitors.
func TestOfferMakeOneVolunteerPerDoor(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	r1, r2 := e.newRequest(), e.newRequest()
	e.ok("offer", "make", r1, callum)
	r := e.run("offer", "make", r2, aileen)
	checkFailure(t, r, true, exitFailed, "Not offered: Callum Reid ("+callum+") is already going to this caller's door then, for another of their requests. "+
		"Offer this one to them too, so that only one volunteer comes to the door; if the caller has agreed to two visitors, add --second-volunteer.")
	if out := e.ok("request", "show", r2); !strings.Contains(out, "open") {
		t.Errorf("after the refusal, request show:\n%s", out)
	}
	if out := e.ok("offer", "make", r2, aileen, "--second-volunteer"); !strings.Contains(out, "Aileen Watt") {
		t.Errorf("offer make --second-volunteer:\n%s", out)
	}
}

// TestOfferAcceptAtAnOccupiedDoor: an accept refused because the request
// came to a door another volunteer is going to then (here moved by a
// write that bypassed the API, as another process's would) says so in
// plain words, naming that volunteer; an edit through the API that would
// do the same to an assigned request is refused up front.
func TestOfferAcceptAtAnOccupiedDoor(t *testing.T) {
	e := newTestEnv(t)
	callum, aileen := e.addVolunteers()
	r1 := e.newRequest()
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", r1, callum), "offers"))
	r2 := e.newRequest("--when", "tomorrow 14:00-16:00")
	toAileen := firstName(t, e.ok("offer", "make", r2, aileen), "offers")

	r := e.run("request", "edit", r1, "--when", "tomorrow 13:00-15:00")
	if r.code != exitFailed || !strings.Contains(r.stderr, "SAME_DOOR") {
		t.Errorf("edit of the assigned request to meet the other: exit %d, stderr %q", r.code, r.stderr)
	}

	stored, err := e.st.GetHelpRequest(context.Background(), idOf(r2))
	if err != nil {
		t.Fatal(err)
	}
	w := stored.GetWindow()
	w.StartTime = timestamppb.New(w.StartTime.AsTime().Add(-3 * time.Hour)) // now meets r1's
	if _, err := e.st.UpdateHelpRequest(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	r = e.run("offer", "accept", toAileen)
	checkFailure(t, r, true, exitFailed, "Not accepted: Callum Reid ("+callum+") is already going to this caller's door then, for another of their requests, "+
		"so the offer is withdrawn. Offer the request to them, so that only one volunteer comes to the door.")
}

// TestRequestShowAsOfferedVolunteerWithholdsDetails: the details and the
// caller's circumstances are withheld from a volunteer until the request is
// theirs, as the caller is; shown as "-" they read as "there are none", and
// a volunteer deciding whether to accept would think the job had no notes
// and the caller no needs of their own.
func TestRequestShowAsOfferedVolunteerWithholdsDetails(t *testing.T) {
	e := newTestEnv(t)
	callum, _ := e.addVolunteers()
	req := e.newRequest("--circumstances", "lives alone")
	offer := firstName(t, e.ok("offer", "make", req, callum), "offers")
	e.env["DOORSTEP_TOKEN"] = e.volunteerToken(callum)
	out := e.ok("request", "show", req)
	for _, row := range []string{"Details", "Circumstances"} {
		if !regexp.MustCompile(`\n` + row + ` +withheld: shown only to its volunteer, while assigned\n`).MatchString(out) {
			t.Errorf("request show to the offered volunteer:\n%s\nwant %s withheld", out, row)
		}
	}
	e.ok("offer", "accept", offer)
	out = e.ok("request", "show", req)
	if !regexp.MustCompile(`\nDetails +Milk and bread`).MatchString(out) || !regexp.MustCompile(`\nCircumstances +lives alone\n`).MatchString(out) {
		t.Errorf("request show to the assigned volunteer:\n%s\nwant the details and circumstances", out)
	}
}
